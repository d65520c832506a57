/* Inside vmm_msg*.c: the decoders' one way to fail. */
#ifndef VMM_MSG_INT_H
#define VMM_MSG_INT_H

#include <stddef.h>

#define VMM_MSG_N(a) (sizeof(a) / sizeof((a)[0]))

/* Formats the reason into err and returns -EBADMSG. */
int vmm_msg_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
