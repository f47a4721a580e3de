complete -c p1-watch -l url -d 'Follow a running p1-serve (its --listen address, http://HOST:PORT) instead of stdin: its /p1/now once a second' -r
complete -c p1-watch -l stale-after -d 'Past this age the values make way for STALE (90s, 1m; a bare number is seconds)' -r
complete -c p1-watch -s q -l quiet -d 'Errors only: no warnings, no summary'
complete -c p1-watch -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c p1-watch -s h -l help -d 'Print help (see more with \'--help\')'
complete -c p1-watch -s V -l version -d 'Print version'
