complete -c p1-influx -l url -d 'The server, e.g. http://127.0.0.1:8086' -r
complete -c p1-influx -l print -d 'Write the line protocol to stdout instead of sending it'
complete -c p1-influx -s h -l help -d 'Print help'
complete -c p1-influx -s V -l version -d 'Print version'
