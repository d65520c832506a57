/* lwIP's <string.h>: the runtime's string functions (rt.h). */
#ifndef TERN_LIBC_STRING_H
#define TERN_LIBC_STRING_H
#include "rt.h"
#endif
