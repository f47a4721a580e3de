"""Reads COUNT telegrams from p1-serve's raw fan-out with the Python dsmr_parser's socket
reader (as Home Assistant's DSMR integration in network mode) and prints each telegram's
import register 1-0:1.8.1, one a line."""
import sys

from dsmr_parser import obis_references, telegram_specifications
from dsmr_parser.clients.socket_ import SocketReader

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
reader = SocketReader(host, port, telegram_specifications.BELGIUM_FLUVIUS)
print("connected", flush=True)
for n, telegram in enumerate(reader.read(), start=1):
    print(telegram[obis_references.ELECTRICITY_USED_TARIFF_1].value, flush=True)
    if n >= count:
        break
