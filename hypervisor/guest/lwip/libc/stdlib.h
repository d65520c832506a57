/* lwIP's <stdlib.h>: only atoi (netif.c), from rt_lwip.c. */
#ifndef TERN_LIBC_STDLIB_H
#define TERN_LIBC_STDLIB_H
int atoi(const char *s);
#endif
