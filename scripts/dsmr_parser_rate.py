"""Telegrams per second of the Python dsmr_parser package (the parser Home Assistant uses) on
a capture, for scripts/bench's comparison. Usage: python3 dsmr_parser_rate.py CAPTURE"""
import sys
import time

from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

data = open(sys.argv[1], encoding="ascii", errors="replace", newline="").read()
telegrams = ["/" + part for part in data.split("/")[1:]]
parser = TelegramParser(telegram_specifications.BELGIUM_FLUVIUS)
start = time.perf_counter()
for telegram in telegrams:
    parser.parse(telegram)
print(len(telegrams), time.perf_counter() - start)
