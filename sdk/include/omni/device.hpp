#pragma once
#include <string>
#include <string_view>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "omni/export.hpp"

namespace omni {

// Parses "cpu", "cuda" or "cuda:N". Throws omni::Error with `what` ("cache.devices.vae")
// in the message when the text is malformed or names a device this process cannot use
// (CUDA missing from the LibTorch build or from the machine, index out of range).
OMNI_API c10::Device parse_device(std::string_view text, std::string_view what = "device");

// Empty when `text` is well-formed ("cpu", "cuda", "cuda:N"), otherwise what was expected.
OMNI_API std::string check_device_syntax(std::string_view text);

// Empty when `text` names a device this process can use, otherwise why not.
OMNI_API std::string check_device(std::string_view text);

// Parses a dtype name: fp32 (float32, float), bf16 (bfloat16), fp16 (float16, half).
// Throws omni::Error naming `what` otherwise.
OMNI_API c10::ScalarType parse_dtype(std::string_view text, std::string_view what = "dtype");

}  // namespace omni
