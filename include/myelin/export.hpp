#pragma once

// Symbol visibility. libmyelin.so is built with hidden visibility by default; everything a user
// touches (the public API, and the exception type so that it can be caught across the library
// boundary) is marked MYELIN_API.
#if defined(MYELIN_STATIC)
#define MYELIN_API
#else
#define MYELIN_API __attribute__((visibility("default")))
#endif
