#!/usr/bin/env python3
"""Writes the seed corpora of the harnesses that take structured input:
tests/fuzz/corpus/<parser>/<name>. Run from anywhere; the files are
committed, this only says how they were made. Usage: mkcorpus.py [parser...]
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def put(parser, name, data):
    d = os.path.join(HERE, "corpus", parser)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- elf: hv_elf.c -------------------------------------------------------

PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W, PF_R = 1, 2, 4


def abi_note(version=1, name=b"Tern\0\0\0\0", ntype=1):
    return struct.pack("<III", 5, 4, ntype) + name + struct.pack("<I", version)


def elf(phdrs, blobs, entry=0x200010, phoff=64, size=0x400, etype=2, machine=62):
    """phdrs: (type, flags, offset, paddr, filesz, memsz, align); blobs:
    (offset, bytes) placed in the file."""
    b = bytearray(size)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    b[0:64] = ident + struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, entry, phoff, 0,
                                  0, 64, 56, len(phdrs), 0, 0, 0)
    for i, (t, fl, off, pa, fs, ms, al) in enumerate(phdrs):
        b[phoff + 56 * i:phoff + 56 * (i + 1)] = struct.pack("<IIQQQQQQ", t, fl, off, pa, pa,
                                                              fs, ms, al)
    for off, data in blobs:
        b[off:off + len(data)] = data
    return bytes(b)


def elf_corpus():
    # Small enough for the bounded runs' -max_len=4096.
    code = (0x100, b"\x90" * 0x100)
    data = (0x200, b"\xab" * 0x10)
    note = (0x300, abi_note())
    good = [(PT_LOAD, PF_R | PF_X, 0x100, 0x200000, 0x100, 0x100, 0x1000),
            (PT_LOAD, PF_R | PF_W, 0x200, 0x300000, 0x10, 0x2000, 0x1000),
            (PT_NOTE, PF_R, 0x300, 0, 24, 0, 4)]
    put("elf", "good", elf(good, [code, data, note]))
    put("elf", "good_note8", elf(good[:2] + [(PT_NOTE, PF_R, 0x300, 0, 24, 0, 8)],
                                 [code, data, note]))
    put("elf", "bad_magic", b"\x7fELG" + elf(good, [code, data, note])[4:])
    put("elf", "no_note", elf(good[:2], [code, data]))
    put("elf", "note_v2", elf(good, [code, data, (0x300, abi_note(version=2))]))
    low = [(PT_LOAD, PF_R | PF_X, 0x100, 0x100000, 0x100, 0x100, 0x1000)] + good[1:]
    put("elf", "below_min", elf(low, [code, data, note]))
    over = good[:1] + [(PT_LOAD, PF_R | PF_W, 0x200, 0x200080, 0x10, 0x2000, 0x1000)] + good[2:]
    put("elf", "overlap", elf(over, [code, data, note]))
    put("elf", "entry_data", elf(good, [code, data, note], entry=0x300000))
    put("elf", "phoff_beyond", elf(good, [code, data, note], phoff=0x3f0))
    put("elf", "short", elf(good, [code, data, note])[:40])


CORPORA = {"elf": elf_corpus}

if __name__ == "__main__":
    for p in sys.argv[1:] or CORPORA:
        CORPORA[p]()
