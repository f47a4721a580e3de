complete -c p1-read -l count -d 'Stop after this many telegrams' -r
complete -c p1-read -l dsmr -d 'Serial: the meter\'s protocol. 2.2 and 3 mean 9600 baud 7E1; 4, 5 and emucs 115200 8N1' -r -f -a "2.2\t''
3\t''
4\t''
5\t''
emucs\t''"
complete -c p1-read -l baud -d 'Serial: baud rate (default 115200, or 9600 with --dsmr 2.2/3)' -r
complete -c p1-read -l data-bits -d 'Serial: data bits, 7 or 8 (the parity bit of a 7E1 line read as 8 bits is masked off)' -r
complete -c p1-read -l parity -d 'Serial: parity: none, even or odd' -r -f -a "none\t''
even\t''
odd\t''"
complete -c p1-read -l seed -d 'sim: seed of the simulated household (the same seed and --start give the same telegrams)' -r
complete -c p1-read -l speed -d 'sim: run its clock this many times faster than real time (0: as fast as possible)' -r
complete -c p1-read -l start -d 'sim: its clock\'s start, RFC 3339 (2024-06-01T10:00:00+02:00) or Belgian local time (2024-06-01T10:00:00); default now' -r
complete -c p1-read -l idle-warning -d 'Warn once when a live source sends nothing for this long' -r
complete -c p1-read -l report-every -d 'Report what was dropped and why at most this often' -r
complete -c p1-read -l key-file -d 'An encrypted meter (Luxembourg\'s Smarty, Austrian meters): the file holding its encryption key, 32 hex digits (readable by its owner only). Frames are found by their header and length, their tag verified, their counter checked' -r -F
complete -c p1-read -l auth-key-file -d 'The meter\'s own authentication key (Austrian operators give one; default: the Smarty\'s, 00112233445566778899AABBCCDDEEFF)' -r -F
complete -c p1-read -l encrypt-key-file -d 'sim: play an encrypted meter with this key (and the Smarty\'s authentication key): with --key-file the frames are read back as any meter\'s, with --raw they are written' -r -F
complete -c p1-read -l max-frame -d 'Drop a frame that grows past this many bytes with no !' -r
complete -c p1-read -l raw -d 'Write the telegrams\' exact bytes instead of envelopes (a capture p1-parse reads later)'
complete -c p1-read -l keep-invalid -d 'Pass frames that fail their CRC on too, marked with "invalid" (for diagnosis)'
complete -c p1-read -l realtime -d 'Replays: pace telegrams as the meter did (by their timestamps, else one a second) instead of as fast as the reader downstream takes them'
complete -c p1-read -s q -l quiet -d 'Errors only: no warnings, no summary'
complete -c p1-read -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c p1-read -s h -l help -d 'Print help (see more with \'--help\')'
complete -c p1-read -s V -l version -d 'Print version'
