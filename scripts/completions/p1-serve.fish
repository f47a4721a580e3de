complete -c p1-serve -l listen -d 'Where to answer HTTP. Port 80, because HomeWizard\'s clients (Home Assistant, evcc) take a bare address and assume it; binding it needs root or CAP_NET_BIND_SERVICE (the systemd unit grants it), else give another port. The host is an address or a name (localhost:8080). mDNS advertises the API on the addresses listened on: none for a loopback one' -r
complete -c p1-serve -l raw-listen -d 'Also serve the raw telegrams here (a plain TCP stream, as ser2net gives)' -r
complete -c p1-serve -l max-clients -d 'Raw telegram clients at once; more are refused' -r
complete -c p1-serve -l max-connections -d 'HTTP connections at once (each answered and closed); more get 503' -r
complete -c p1-serve -l rate -d 'HTTP requests a second per client address, at most (bursts of twice that)' -r
complete -c p1-serve -l stale-after -d 'A reading older than this long is stale: HomeWizard clients get an error. Longer than the meter\'s period (1 s; 10 s for Luxembourg and Austrian meters)' -r
complete -c p1-serve -l serial -d 'The serial HomeWizard clients see (12 hex digits; default: derived from the meter id)' -r
complete -c p1-serve -l prices -d 'The price file p1-relay reads (--prices): /p1/prices gives the next 24 hours of it' -r -F
complete -c p1-serve -l no-mdns -d 'Do not advertise the HomeWizard API over mDNS'
complete -c p1-serve -l passthrough -d 'Forward every input record to stdout too, before what it leads to: one stream for the stages after'
complete -c p1-serve -s q -l quiet -d 'Errors only: no warnings, no summary'
complete -c p1-serve -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c p1-serve -s h -l help -d 'Print help (see more with \'--help\')'
complete -c p1-serve -s V -l version -d 'Print version'
