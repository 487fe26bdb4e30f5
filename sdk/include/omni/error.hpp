#pragma once
#include <stdexcept>
#include <string>

#include "omni/export.hpp"

namespace omni {

// The one exception type the host reports as a plain one-line (or few-line) message.
// Anything else that escapes to the host is a bug and is reported as an internal error.
class OMNI_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  ~Error() override;
};

// A problem with the user's configuration: the message starts with file:line:column.
class OMNI_API ConfigError : public Error {
 public:
  using Error::Error;
  ~ConfigError() override;
};

}  // namespace omni
