/*
 * The ABI note every image carries (abi.h): the vmm reads it from the
 * image's PT_NOTE segment and refuses an image built for another guest ABI.
 * guest.ld keeps the section and gives it its own PT_NOTE header.
 */
#include <tern/abi.h>

	.section .note.tern, "a", @note
	.balign	4
	.long	2f - 1f			/* namesz: "Tern" and its NUL */
	.long	4f - 3f			/* descsz */
	.long	TERN_NOTE_ABI_VERSION	/* type */
1:	.asciz	TERN_NOTE_NAME
2:	.balign	4
3:	.long	TERN_ABI_VERSION
4:	.balign	4
