#pragma once
// doctest, plus the checks the test files share. Include it last: Debian's LibTorch logs
// through glog, whose CHECK macros would shadow doctest's.
#undef CHECK
#undef CHECK_EQ
#undef CHECK_NE
#undef CHECK_LT
#undef CHECK_LE
#undef CHECK_GT
#undef CHECK_GE
#include <doctest/doctest.h>

#include <string>

// Checks that `text` contains `part`, and shows `text` when it does not.
#define CHECK_HAS(text, part) CHECK_MESSAGE((text).find(part) != std::string::npos, (text))
