"""Telegrams per second of the Python dsmr_parser package (the parser Home Assistant uses) on
a capture, for scripts/bench and scripts/bench-parse: the CRC checked and every object read,
as p1-parse does. Prints "TELEGRAMS READ SECONDS" (READ: those it parsed without an error).
Usage: python3 dsmr_parser_rate.py CAPTURE"""
import sys
import time

from dsmr_parser import telegram_specifications
from dsmr_parser.exceptions import ParseError, InvalidChecksumError
from dsmr_parser.parsers import TelegramParser

data = open(sys.argv[1], encoding="ascii", errors="replace", newline="").read()
telegrams = ["/" + part for part in data.split("/")[1:]]
parser = TelegramParser(telegram_specifications.BELGIUM_FLUVIUS)
read = 0
start = time.perf_counter()
for telegram in telegrams:
    try:
        parser.parse(telegram, throw_ex=True)
        read += 1
    except (ParseError, InvalidChecksumError):
        pass
print(len(telegrams), read, time.perf_counter() - start)
