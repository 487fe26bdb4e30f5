#pragma once
// Symbols of the flux_kontext shared library that other plugins (dreamomni2) link against.
#define FLUX_KONTEXT_API __attribute__((visibility("default")))
