#!/usr/bin/env python3
"""mig_probe: watches a guest while it migrates (scripts/demo, tests 45-47).

Pings IP every INTERVAL (raw ICMP, its own id, so other pings do not
count) and, unless --no-tcp, keeps one TCP echo session to IP:PORT open,
sending one numbered line every INTERVAL and checking that exactly that
line comes back before the next is sent. Runs until the file --stop
exists (or --max-seconds), waits 1 s for the last replies, then prints one
JSON object:

  pings_sent, pings_lost, longest_gap_ms (longest time without a ping
  reply while pinging), lost_by_window (lost pings sent inside each
  [start, end + 1 s] window of --marks: lines "start EPOCH" / "end EPOCH"
  written by the caller around each migration), gap_by_window (the
  longest time without a ping reply that overlaps each window, ms),
  tcp_session_ok, tcp_lines, tcp_max_rtt_ms, tcp_error.

--ready FILE is created once the first ping reply came and the TCP
session is up. Exit status 0 even when packets were lost: the caller
judges the numbers.
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


class Pinger:
    def __init__(self, ip, interval, pattern):
        self.ip, self.interval, self.pattern = ip, interval, pattern
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.settimeout(0.2)
        self.ident = os.getpid() & 0xFFFF
        self.sent = {}  # seq -> wall time sent
        self.got = {}   # seq -> wall time received
        self.lock = threading.Lock()

    def send(self, seq):
        body = self.pattern
        hdr = struct.pack("!BBHHH", 8, 0, 0, self.ident, seq & 0xFFFF)
        pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + body), self.ident, seq & 0xFFFF) + body
        with self.lock:
            self.sent[seq] = time.time()
        try:
            self.sock.sendto(pkt, (self.ip, 0))
        except OSError:
            pass  # counted as lost

    def recv_loop(self, stop):
        while not stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            ihl = (data[0] & 0xF) * 4
            if addr[0] != self.ip or len(data) < ihl + 8:
                continue
            typ, _, _, ident, seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if typ != 0 or ident != self.ident:
                continue
            with self.lock:
                # seq wraps at 65536: the newest send with these low bits
                cand = [s for s in self.sent if s & 0xFFFF == seq and s not in self.got]
                if cand:
                    self.got[max(cand)] = time.time()


class Echo:
    def __init__(self, ip, port, interval):
        self.ip, self.port, self.interval = ip, port, interval
        self.lines, self.max_rtt, self.err, self.up = 0, 0.0, None, False

    def run(self, stop):
        try:
            s = socket.create_connection((self.ip, self.port), timeout=10)
            s.settimeout(15)  # a migration's pause is far shorter
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.up = True
            buf = b""
            nxt = time.monotonic()
            while not stop.is_set():
                line = b"line %d %s\n" % (self.lines, b"e" * (self.lines % 50))
                t0 = time.monotonic()
                s.sendall(line)
                while len(buf) < len(line):
                    b = s.recv(4096)
                    if not b:
                        raise OSError("the guest closed the session")
                    buf += b
                if buf[:len(line)] != line:
                    raise OSError("line %d came back as %r" % (self.lines, buf[:len(line)]))
                buf = buf[len(line):]
                self.max_rtt = max(self.max_rtt, time.monotonic() - t0)
                self.lines += 1
                nxt += self.interval
                time.sleep(max(0.0, nxt - time.monotonic()))
            s.close()
        except OSError as e:
            self.err = "after %d lines: %s" % (self.lines, e)


def windows(path):
    w, start = [], None
    if path and os.path.exists(path):
        for ln in open(path):
            k, _, v = ln.partition(" ")
            if k == "start":
                start = float(v)
            elif k == "end" and start is not None:
                w.append((start, float(v) + 1.0))
                start = None
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ip")
    ap.add_argument("--port", type=int, default=7)
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--ready")
    ap.add_argument("--marks")
    ap.add_argument("--max-seconds", type=float, default=100)
    ap.add_argument("--pattern", default="7e3a91c4d5e6f7a8b9cadbecfd0e1f25",
                    help="hex bytes carried by every ping (a capture can look for them)")
    ap.add_argument("--no-tcp", action="store_true")
    a = ap.parse_args()

    stop = threading.Event()
    p = Pinger(a.ip, a.interval, bytes.fromhex(a.pattern) * 2)
    rt = threading.Thread(target=p.recv_loop, args=(stop,))
    rt.start()
    e = Echo(a.ip, a.port, a.interval)
    et = None
    if not a.no_tcp:
        et = threading.Thread(target=e.run, args=(stop,))
        et.start()
    t_end = time.monotonic() + a.max_seconds
    seq, nxt, ready = 1, time.monotonic(), False
    while time.monotonic() < t_end and not os.path.exists(a.stop):
        p.send(seq)
        seq += 1
        if not ready and p.got and (a.no_tcp or e.up or e.err):
            ready = True
            if a.ready:
                open(a.ready, "w").close()
        # After a stall of this process the missed pings are skipped, not
        # sent in a burst: a burst of hundreds overflows queues on the way
        # and would be counted as the network's loss.
        nxt = max(nxt + a.interval, time.monotonic())
        time.sleep(max(0.0, nxt - time.monotonic()))
    time.sleep(1.0)  # the last replies
    stop.set()
    rt.join()
    if et:
        et.join(20)
    with p.lock:
        sent, got = dict(p.sent), dict(p.got)
    lost = [s for s in sent if s not in got]
    times = sorted(got.values())
    gap = max((b - a2 for a2, b in zip(times, times[1:])), default=0.0)
    w = windows(a.marks)
    by_win = [sum(1 for s in lost if lo <= sent[s] <= hi) for lo, hi in w]
    gaps = list(zip(times, times[1:]))
    gap_win = [max((b - a2 for a2, b in gaps if b >= lo and a2 <= hi), default=0.0)
               for lo, hi in w]
    out = {
        "pings_sent": len(sent),
        "pings_lost": len(lost),
        "longest_gap_ms": round(gap * 1000, 1),
        "lost_by_window": by_win,
        "gap_by_window": [round(g * 1000, 1) for g in gap_win],
        "tcp_session_ok": (not a.no_tcp) and e.err is None and e.lines > 0,
        "tcp_lines": e.lines,
        "tcp_max_rtt_ms": round(e.max_rtt * 1000, 1),
        "tcp_error": e.err,
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
