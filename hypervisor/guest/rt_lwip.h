/* rt_lwip.c: lwIP's port to the runtime. */
#ifndef RT_LWIP_H
#define RT_LWIP_H

/* Allocates lwIP's heap and runs lwip_init(). 0 or -RT_E2BIG (no RAM). */
int rt_lwip_init(void);

#endif
