/*
 * The save/restore and migration stream (docs/stream.md).
 *
 * A stream is a sequence of records, each a struct hv_rec_hdr {type, len}
 * followed by `len` payload bytes, all little-endian:
 *
 *   HEADER  magic "TERNSTRM", version, RAM size, vCPU count, domain config
 *   PAGES   batches of up to HV_STREAM_BATCH_MAX pages: a pfn list with a
 *           type per page (normal, zero); only normal pages carry data
 *   VCPU    one per vCPU: index + struct hv_vcpu_state
 *   DEVICE  one per device: kind, size, the state its hv_dev_ops wrote
 *   END     SHA-256 of all guest memory and SHA-256 of every stream byte
 *           before the END record
 *
 * PAGES records may repeat a pfn (a live migration resends dirtied pages;
 * the last copy wins). Every length is checked against its type's limits
 * before the payload is read, so a reader never allocates or trusts a size
 * it has not checked. Decoders return 0 or -EBADMSG and write a one-line
 * reason naming the record type and its stream offset.
 */
#ifndef HV_STREAM_H
#define HV_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hv_dev.h"
#include "hv_pgdig.h"
#include "hv_vcpu_state.h"

#define HV_STREAM_MAGIC "TERNSTRM"
#define HV_STREAM_VERSION 1u
#define HV_STREAM_BATCH_MAX 512u
#define HV_STREAM_CFG_MAX 16384u
#define HV_STREAM_ERR_MAX 256u
/* HEADER flags: a live (migration) stream, docs/stream.md "The live
 * stream": pages may repeat, END carries the page digest (hv_pgdig.h) and
 * no stream digest. */
#define HV_STREAM_F_LIVE 0x1u

enum hv_rec_type {
	HV_REC_HEADER = 1,
	HV_REC_PAGES = 2,
	HV_REC_VCPU = 3,
	HV_REC_DEVICE = 4,
	HV_REC_END = 5,
};

enum hv_page_type { HV_PAGE_NORMAL = 0, HV_PAGE_ZERO = 1 };
/* A PAGES entry: pfn in the low 52 bits, hv_page_type in the top 4. */
#define HV_PAGE_ENTRY(pfn, type) ((uint64_t)(pfn) | ((uint64_t)(type) << 60))
#define HV_PAGE_ENTRY_PFN(e) ((e) & ((1ull << 52) - 1))
#define HV_PAGE_ENTRY_TYPE(e) ((unsigned)((e) >> 60))

struct hv_rec_hdr {
	uint32_t type;
	uint32_t len;
};

struct hv_rec_header {
	char magic[8];
	uint32_t version;
	uint32_t flags; /* 0, or HV_STREAM_F_LIVE */
	uint64_t mem_size;
	uint32_t nvcpus;
	uint32_t cfg_len; /* followed by cfg_len bytes of config text */
};

struct hv_rec_pages {
	uint32_t count; /* 1..HV_STREAM_BATCH_MAX entries, then normal pages' data */
	uint32_t pad;
};

struct hv_rec_vcpu {
	uint32_t index;
	uint32_t size; /* sizeof(struct hv_vcpu_state) */
};

/* A device's state record (hv_dev.h); the state follows. */
struct hv_rec_device {
	uint32_t kind; /* hv_dev_ops.kind */
	uint32_t size; /* bytes of state, = len - 8 */
};

struct hv_rec_end {
	uint8_t mem_sha256[32];
	uint8_t stream_sha256[32];
	uint64_t pages; /* PAGES entries sent in total */
};

/* Largest payload of any record: a full PAGES batch. */
#define HV_REC_MAX (sizeof(struct hv_rec_pages) + HV_STREAM_BATCH_MAX * (8 + 4096))

/* "HEADER", "PAGES", ... or "unknown" (hv_stream_dec.c). */
const char *hv_stream_dec_type_name(uint32_t type);
/* 1 if len is within the limits of a record of this type (hv_stream_in.c);
 * every reader checks this before it reads the payload. */
int hv_stream_rec_len_ok(uint32_t type, uint32_t len);

/* --- Writer (hv_stream_out.c): buffered, hashes every byte it emits. --- */
struct hv_stream_out {
	int (*write)(void *ctx, const void *buf, size_t len); /* all or -errno */
	void *ctx;
	uint64_t offset; /* bytes emitted */
	EVP_MD_CTX *sha; /* stream digest; NULL for a live stream */
	uint8_t *buf;
	size_t used, cap;
	int fd; /* for hv_stream_out_fd */
};

int hv_stream_out_init(struct hv_stream_out *out,
		       int (*write)(void *ctx, const void *buf, size_t len), void *ctx);
/* Writer to a file descriptor. */
int hv_stream_out_init_fd(struct hv_stream_out *out, int fd);
void hv_stream_out_fini(struct hv_stream_out *out);
/* A live stream has no stream digest: stop hashing (before any put). */
void hv_stream_out_nohash(struct hv_stream_out *out);
int hv_stream_out_put(struct hv_stream_out *out, const void *p, size_t n);
/* Writes p straight to the write callback after what is buffered, without
 * copying it into the buffer (large PAGES records of a live stream). */
int hv_stream_out_put_direct(struct hv_stream_out *out, const void *p, size_t n);
int hv_stream_out_flush(struct hv_stream_out *out);
/* Current stream digest (of everything put so far). */
int hv_stream_out_digest(struct hv_stream_out *out, uint8_t md[32]);

/* --- Reader (hv_stream_in.c): one record at a time. --- */
struct hv_stream_in {
	/* 1 when all len bytes were read, 0 at EOF before any byte, -ENODATA
	 * on a short read, or -errno */
	int (*read)(void *ctx, void *buf, size_t len);
	void *ctx;
	uint64_t offset; /* stream offset of the next record */
	EVP_MD_CTX *sha; /* digest of all records before the current one; NULL: none */
	uint8_t *buf;	 /* HV_REC_MAX bytes, 8-byte aligned */
	int fd;
	/* current record */
	uint32_t type;
	uint32_t len;
	uint64_t rec_offset;
};

int hv_stream_in_init(struct hv_stream_in *in, int (*read)(void *ctx, void *buf, size_t len),
		      void *ctx);
int hv_stream_in_init_fd(struct hv_stream_in *in, int fd);
void hv_stream_in_fini(struct hv_stream_in *in);
/* A live stream has no stream digest: stop hashing (before any record). */
void hv_stream_in_nohash(struct hv_stream_in *in);
/* Reads the next record into in->buf. Returns 0, or -EBADMSG with err set
 * (unknown type, length out of limits, truncated), or -errno. */
int hv_stream_in_next(struct hv_stream_in *in, char *err, size_t errlen);
/* Digest of all bytes before the current record (compare with END). */
int hv_stream_in_digest(struct hv_stream_in *in, uint8_t md[32]);

/* --- Decoders (hv_stream_dec.c): check one record's payload. --- */
struct hv_stream_pages_view {
	uint32_t count;
	const uint64_t *entries;
	const uint8_t *data; /* normal pages, in entry order */
};

int hv_stream_dec_header(const void *p, size_t len, uint64_t off, struct hv_rec_header *h,
			 const char **cfg, char *err, size_t errlen);
int hv_stream_dec_pages(const void *p, size_t len, uint64_t off, uint64_t npages,
			struct hv_stream_pages_view *v, char *err, size_t errlen);
int hv_stream_dec_vcpu(const void *p, size_t len, uint64_t off, uint32_t nvcpus, uint32_t *index,
		       struct hv_vcpu_state *st, char *err, size_t errlen);
/* Finds the device of the record's kind in devs[0..ndevs) and checks the
 * size against its ops; sets *index and *state (size bytes inside p). The
 * device's own checks are its ops->load. */
int hv_stream_dec_device(const void *p, size_t len, uint64_t off, const struct hv_stream_dev *devs,
			 unsigned ndevs, unsigned *index, const void **state, char *err,
			 size_t errlen);
int hv_stream_dec_end(const void *p, size_t len, uint64_t off, struct hv_rec_end *e, char *err,
		      size_t errlen);

/* --- Saving (hv_stream_save.c). --- */
struct hv_mem;
int hv_stream_save_header(struct hv_stream_out *out, uint64_t mem_size, uint32_t nvcpus,
			  const char *cfg);
/* One PAGES record for pfns[0..n), n <= HV_STREAM_BATCH_MAX; zero pages are
 * sent as HV_PAGE_ZERO without data. */
int hv_stream_save_pages(struct hv_stream_out *out, const struct hv_mem *mem, const uint64_t *pfns,
			 uint32_t n);
/* Every page of RAM in pfn order; skip_zero omits zero pages entirely (a
 * fresh destination is zero-filled). Counts entries into *sent. */
int hv_stream_save_all_pages(struct hv_stream_out *out, const struct hv_mem *mem, int skip_zero,
			     uint64_t *sent);
/* One bounded step of hv_stream_save_all_pages: pfns [*next_pfn,
 * *next_pfn + budget) in order, zero pages skipped if skip_zero, each page
 * scanned also fed to mem_sha (if not NULL) so that a pass over all of RAM
 * yields the END record's memory digest without a second pass. Advances
 * *next_pfn, adds entries to *sent. Returns 1 when RAM is done, 0 when
 * pages remain, or -errno. */
int hv_stream_save_pages_step(struct hv_stream_out *out, const struct hv_mem *mem, int skip_zero,
			      EVP_MD_CTX *mem_sha, uint64_t *next_pfn, uint64_t budget,
			      uint64_t *sent);
/* The pages whose bits are set in bitmap[0..words) (a dirty-log round, see
 * hv_dirty_log.h), zero pages as HV_PAGE_ZERO. Counts entries into *sent. */
int hv_stream_save_dirty(struct hv_stream_out *out, const struct hv_mem *mem,
			 const uint64_t *bitmap, size_t words, uint64_t *sent);
int hv_stream_save_vcpu(struct hv_stream_out *out, uint32_t index, const struct hv_vcpu_state *st);
/* One DEVICE record with the given kind and state bytes. */
int hv_stream_save_device(struct hv_stream_out *out, uint32_t kind, const void *dev, uint32_t size);
/* One DEVICE record per entry of devs[0..ndevs), in that order, each with
 * the state its ops->save wrote. */
int hv_stream_save_devices(struct hv_stream_out *out, const struct hv_stream_dev *devs,
			   unsigned ndevs);
/* END with the digests; flushes. */
int hv_stream_save_end(struct hv_stream_out *out, const struct hv_mem *mem, uint64_t pages);
/* END with a memory digest computed already (hv_stream_save_pages_step). */
int hv_stream_save_end_md(struct hv_stream_out *out, const uint8_t mem_sha256[32], uint64_t pages);
/* SHA-256 of all of RAM. */
int hv_stream_save_mem_digest(const struct hv_mem *mem, uint8_t md[32]);

/* --- Live sending (hv_stream_live_out.c). --- */
/* HEADER with HV_STREAM_F_LIVE. */
int hv_stream_save_header_live(struct hv_stream_out *out, uint64_t mem_size, uint32_t nvcpus,
			       const char *cfg);
/* Stage of one live PAGES record: its fixed part and entries, and room
 * for the data of pages that are not in runs (copied, so that scattered
 * pages leave in full TLS records). */
#define HV_STREAM_LIVE_BATCH 128u
struct hv_stream_live_stage {
	uint8_t *buf;
};
int hv_stream_live_stage_init(struct hv_stream_live_stage *s);
void hv_stream_live_stage_fini(struct hv_stream_live_stage *s);
/* One PAGES record of pfns[0..n) (n <= HV_STREAM_LIVE_BATCH) of a running
 * or stopped guest. A page that reads all zero becomes a ZERO entry, or is
 * left out if skip_zero (round 1: the destination's RAM is fresh). Any
 * other page's digest term is taken in guest RAM and its data written
 * from there (runs of consecutive pages; short runs are copied into the
 * stage): the bytes sent may differ from the hashed ones if the guest
 * writes the page meanwhile, which is why the pages must have been
 * cleared in the dirty log before this reads them: such a page is sent
 * again in a later round, and the last round runs with the vCPUs stopped
 * (hv_stream_live_out.c). Adds the entries to *sent (the record is not
 * written if none remain). */
int hv_stream_save_live_pages(struct hv_stream_out *out, struct hv_stream_live_stage *stage,
			      const struct hv_mem *mem, struct hv_pgdig_tab *dig,
			      const uint64_t *pfns, uint32_t n, int skip_zero, uint64_t *sent);
/* END of a live stream: the page digest, no stream digest; flushes. */
int hv_stream_save_end_live(struct hv_stream_out *out, const struct hv_pgdig_tab *dig,
			    uint64_t pages);

/* --- Loading (hv_stream_load.c). --- */
struct hv_stream_state {
	struct hv_rec_header hdr;
	char cfg[HV_STREAM_CFG_MAX + 1];
	uint32_t nvcpus_seen;
	struct hv_vcpu_state vcpu[8];
	uint32_t devs_seen; /* bit i: devs[i] of hv_stream_load_body loaded */
	uint64_t pages;
};

/* Reads and checks the HEADER record (the first record of any stream). */
int hv_stream_load_header(struct hv_stream_in *in, struct hv_stream_state *st, char *err,
			  size_t errlen);
/* Reads every following record up to END into `mem` and `st`, DEVICE
 * records through the ops of devs[0..ndevs) (at most HV_DEV_MAX; any order;
 * a kind not listed is refused), then checks the stream and memory digests
 * and that every required device came. Nothing is applied to vCPUs:
 * devices only stage their state, and on error the caller throws the VM
 * away. Returns 0 or -EBADMSG/-errno with err set. */
int hv_stream_load_body(struct hv_stream_in *in, struct hv_mem *mem, struct hv_stream_state *st,
			const struct hv_stream_dev *devs, unsigned ndevs, char *err, size_t errlen);

/* --- Live loading (hv_stream_live_in.c): records as they arrive. --- */
struct hv_stream_live_in {
	struct hv_mem *mem;
	struct hv_stream_state *st; /* hdr from hv_stream_load_header, F_LIVE */
	const struct hv_stream_dev *devs;
	unsigned ndevs;
	struct hv_pgdig_tab dig; /* what RAM holds, page by page */
	uint64_t normal, zero;	 /* PAGES entries stored, by type */
	uint64_t offset;	 /* hv_stream_live_in_next: stream offset of the next record */
	uint8_t *buf;		 /* hv_stream_live_in_next: a record other than PAGES data */
};
/* A loader into mem (size = st->hdr.mem_size) with the device table
 * devs[0..ndevs). 0, or -EINVAL/-ENOMEM with err set. */
int hv_stream_live_in_init(struct hv_stream_live_in *l, struct hv_mem *mem,
			   struct hv_stream_state *st, const struct hv_stream_dev *devs,
			   unsigned ndevs, char *err, size_t errlen);
void hv_stream_live_in_fini(struct hv_stream_live_in *l);
/* One record (type, len payload bytes at p, 8-byte aligned, at stream
 * offset off) after
 * HEADER: checks it and stores pages (the last copy of a pfn wins, the
 * digest follows), stages vCPU and device state. Returns 0 for more, 1
 * once END arrived and verified (page digest, page count, every vCPU and
 * required device), or -EBADMSG with err naming record, offset and
 * reason. */
int hv_stream_live_in_record(struct hv_stream_live_in *l, uint32_t type, const void *p,
			     uint32_t len, uint64_t off, char *err, size_t errlen);
/* Reads the next record with read_fn (as hv_stream_in's read: 1 when all
 * bytes came, 0 at EOF, -ENODATA short, -errno) from l->offset on (set it
 * to the offset after HEADER) and applies it as hv_stream_live_in_record
 * does, except that a PAGES record's header and pfn list are read into a
 * small buffer and checked in full, and only then each run of consecutive
 * normal pages is read straight into its place in guest RAM: no copy of
 * page data besides the reader's own. Same returns as
 * hv_stream_live_in_record; a read error names the record and offset. */
int hv_stream_live_in_next(struct hv_stream_live_in *l, int (*read_fn)(void *, void *, size_t),
			   void *ctx, char *err, size_t errlen);

#endif
