#pragma once
// The Unicode helpers moved to the SDK (omni/unicode_text.hpp) so that every tokenizer shares
// them; this alias keeps the flux_kontext tokenizers' `unicode::` spelling.
#include "omni/unicode_text.hpp"

namespace flux_kontext {
namespace unicode = ::omni::unicode;
}  // namespace flux_kontext
