complete -c p1-parse -l utc-offset -d 'Standard (winter) UTC offset of the meter\'s clock; EU summer time adds an hour. +01:00 for Belgium and the Netherlands, +00:00 for Ireland' -r
complete -c p1-parse -l max-frame -d 'Drop a frame that grows past this many bytes with no !' -r
complete -c p1-parse -l strict -d 'Stop at the first rejected telegram or unreadable envelope, with exit status 65'
complete -c p1-parse -l ignore-crc -d 'Read telegrams whose CRC fails too (a cable that corrupts the CRC line): each such reading says "crc":"not checked". Its values may be wrong'
complete -c p1-parse -l passthrough -d 'Forward every input record to stdout too, before what it leads to: one stream for the stages after'
complete -c p1-parse -s q -l quiet -d 'Errors only: no warnings, no summary'
complete -c p1-parse -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c p1-parse -s h -l help -d 'Print help (see more with \'--help\')'
complete -c p1-parse -s V -l version -d 'Print version'
