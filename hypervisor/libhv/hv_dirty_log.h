/*
 * The dirty-page log of guest RAM: the source of truth for live migration.
 *
 * hv_dirty_log_start() sets KVM_MEM_LOG_DIRTY_PAGES on the RAM slot (which
 * makes KVM map RAM with 4 KiB pages, so it is on only while needed). Each
 * hv_dirty_log_sync() reads the bitmap and clears exactly the bits it
 * returned (KVM_GET_DIRTY_LOG + KVM_CLEAR_DIRTY_LOG with manual protect), so
 * a page written after the read shows up in the next round. With
 * KVM_DIRTY_LOG_INITIALLY_SET the first sync reports every page.
 */
#ifndef HV_DIRTY_LOG_H
#define HV_DIRTY_LOG_H

#include <stddef.h>
#include <stdint.h>

struct hv_vm;

/* Bitmap words (uint64_t, bit n of word w = page 64*w + n) for all RAM. */
size_t hv_dirty_log_words(const struct hv_vm *vm);
int hv_dirty_log_start(struct hv_vm *vm);
int hv_dirty_log_stop(struct hv_vm *vm);
/* Reads and clears the log into bitmap (hv_dirty_log_words() words).
 * Returns the number of dirty pages or -errno (-EINVAL if not started). */
int64_t hv_dirty_log_sync(struct hv_vm *vm, uint64_t *bitmap);
/* Number of set bits in bitmap[0..words). */
uint64_t hv_dirty_log_count(const uint64_t *bitmap, size_t words);

#endif
