#!/usr/bin/python3
"""A slow hub for tests/test_hosts.sh, where the kernel has no sch_netem: it joins the given interfaces
(the switch-side ends of the hosts' links, taken out of the bridge) as a hub that delivers every
frame from one port to every other port DELAY seconds later, and drops a fraction LOSS of them, drawn
from a fixed seed. A veth hands a raw socket TCP and UDP segments whose checksum the sender left to
the hardware: the hub fills it in before it sends them on. Runs until killed. Standard library only
(AF_PACKET raw sockets; root).
Usage: slowlink.py DELAY LOSS IFACE...
"""
import heapq
import random
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def checksum(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def with_checksum(frame):
    """An Ethernet frame with the TCP or UDP checksum of its IPv4 packet computed."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return frame
    ihl = (frame[14] & 0x0F) * 4
    proto, total = frame[23], int.from_bytes(frame[16:18], "big")
    at = {6: 16, 17: 6}.get(proto)  # where the checksum sits in a TCP or UDP header
    if at is None or int.from_bytes(frame[20:22], "big") & 0x3FFF:  # not TCP or UDP, or a fragment
        return frame
    seg = bytearray(frame[14 + ihl:14 + total])
    if len(seg) < at + 2:
        return frame
    seg[at:at + 2] = b"\0\0"
    pseudo = frame[26:34] + bytes([0, proto]) + len(seg).to_bytes(2, "big")
    value = checksum(pseudo + bytes(seg)) or (0xFFFF if proto == 17 else 0)
    seg[at:at + 2] = value.to_bytes(2, "big")
    return frame[:14 + ihl] + bytes(seg) + frame[14 + total:]


def main(delay, loss, names):
    ports = []
    for name in names:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setblocking(False)
        ports.append(s)
    draw = random.Random(1)
    queue, order = [], 0  # (due, order, port, frame): frames to deliver, in time order
    while True:
        wait = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
        ready, _, _ = select.select(ports, [], [], wait)
        now = time.monotonic()
        for s in ready:
            while True:
                try:
                    frame, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:  # what this hub sent itself
                    continue
                if draw.random() < loss:
                    continue
                frame = with_checksum(frame)
                for out in ports:
                    if out is not s:
                        order += 1
                        heapq.heappush(queue, (now + delay, order, out, frame))
        while queue and queue[0][0] <= time.monotonic():
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
            except OSError:
                pass  # a port that went down: the frame is lost, as on a wire


if __name__ == "__main__":
    main(float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:])
