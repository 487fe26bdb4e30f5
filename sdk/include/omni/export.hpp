#pragma once
// Symbols of the SDK that plugins and the host use. Everything else is hidden
// (-fvisibility=hidden), so each exported class keeps an out-of-line key function in the
// SDK library: its type info then exists once, and dynamic_cast and exceptions work across
// module borders.
#define OMNI_API __attribute__((visibility("default")))
