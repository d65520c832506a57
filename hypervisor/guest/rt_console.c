/*
 * Console output. Under the vmm every write is one TERN_HC_CONSOLE_WRITE
 * hypercall; under a Multiboot loader there are no hypercall ports, so bytes
 * go to the 16550 UART at COM1, polled (no interrupts in this runtime).
 */
#include "rt.h"
#include "rt_cpu.h"

#define UART_THR 0 /* transmit holding register (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
#define UART_LSR_THRE 0x20

static int console_hypercall;

/* The argument struct must sit below 4 GiB: it lives in the image. */
static volatile struct tern_hc_console_write console_hc;

void rt_console_init(uint32_t loader)
{
	uint16_t base = TERN_COM1_PORT;

	console_hypercall = loader == TERN_LOADER_VMM;
	if (console_hypercall)
		return;
	/* 115200 8N1, FIFOs on, no interrupts: what any terminal expects. */
	rt_outb(base + UART_IER, 0);
	rt_outb(base + UART_LCR, UART_LCR_DLAB);
	rt_outb(base + UART_DLL, 1);
	rt_outb(base + UART_DLM, 0);
	rt_outb(base + UART_LCR, UART_LCR_8N1);
	rt_outb(base + UART_FCR, 0x07);
	rt_outb(base + UART_MCR, 0x03);
}

static void console_uart_write(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		while (!(rt_inb(TERN_COM1_PORT + UART_LSR) & UART_LSR_THRE))
			rt_pause();
		rt_outb(TERN_COM1_PORT + UART_THR, (uint8_t)buf[i]);
	}
}

static void console_hc_write(const char *buf, size_t len)
{
	while (len > 0) {
		console_hc.data = (uint64_t)(uintptr_t)buf;
		console_hc.len = len;
		console_hc.ret = 0;
		rt_hypercall(TERN_HC_CONSOLE_WRITE, &console_hc);
		/* A short write moves on; an error drops the rest rather than
		 * spinning on a console the vmm cannot serve. */
		if (console_hc.ret <= 0 || (uint64_t)console_hc.ret > len)
			return;
		buf += console_hc.ret;
		len -= (size_t)console_hc.ret;
	}
}

void rt_console_write(const char *buf, size_t len)
{
	if (console_hypercall)
		console_hc_write(buf, len);
	else
		console_uart_write(buf, len);
}
