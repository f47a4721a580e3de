complete -c p1-influx -l url -d 'The server, http or https (certificates verified), e.g. <http://127.0.0.1:8086>' -r
complete -c p1-influx -l db -d 'InfluxDB 1.x database (or 3.x database, with a token)' -r
complete -c p1-influx -l rp -d 'InfluxDB 1.x retention policy' -r
complete -c p1-influx -l user -d 'InfluxDB 1.x user (password from --password-file or INFLUX_PASSWORD)' -r
complete -c p1-influx -l org -d 'InfluxDB 2.x organisation' -r
complete -c p1-influx -l bucket -d 'InfluxDB 2.x bucket' -r
complete -c p1-influx -l api -d 'Which write API, when the flags alone do not say: --org/--bucket mean v2, --db with a token v3, --db without one v1' -r -f -a "v1\t''
v2\t''
v3\t''"
complete -c p1-influx -l token-file -d 'A file holding the API token (else INFLUX_TOKEN)' -r -F
complete -c p1-influx -l password-file -d 'A file holding the 1.x password (else INFLUX_PASSWORD)' -r -F
complete -c p1-influx -l measurement -d 'Measurement of the readings (M-Bus and relay points get _mbus and _relay added)' -r
complete -c p1-influx -l tag -d 'A tag for every point, KEY=VALUE (repeatable)' -r
complete -c p1-influx -l fields -d 'Only these reading keys become fields (comma-separated)' -r
complete -c p1-influx -l exclude -d 'These reading keys do not (comma-separated)' -r
complete -c p1-influx -l time-source -d 'Timestamp of a reading\'s point: meter (the meter\'s time, else received, else now), received (when p1-read received the telegram, else now), now (when p1-influx read it)' -r -f -a "meter\t''
received\t''
now\t''"
complete -c p1-influx -l spool-dir -d 'The spool (default: $STATE_DIRECTORY, else $XDG_STATE_HOME/p1-influx, else ~/.local/state/p1-influx). Each database (URL and name) has a directory of its own in it: what was spooled for one is never sent to another' -r -F
complete -c p1-influx -l spool-hot -d 'Where the spool is kept while the database keeps up: a directory in memory (a tmpfs), so that an SD card is not written every few seconds; none for the disk only (default: $RUNTIME_DIRECTORY, else $XDG_RUNTIME_DIR/p1-influx, else /dev/shm/p1-influx-UID, a directory of this user\'s own, else none)' -r -F
complete -c p1-influx -l sync -d 'What is in the spool on disk is fsynced this long after it was read, at the latest: the most a power cut loses while the database is unreachable' -r
complete -c p1-influx -l spool-max -d 'The spool\'s bound; past it the oldest data goes (e.g. 512M, 2G)' -r
complete -c p1-influx -l batch-lines -d 'Lines per batch' -r
complete -c p1-influx -l flush -d 'Send what has come at least this often' -r
complete -c p1-influx -l timeout -d 'Timeout of each request' -r
complete -c p1-influx -l drain -d 'On SIGTERM, keep sending for this long' -r
complete -c p1-influx -l print -d 'Write the line protocol to stdout instead of sending it'
complete -c p1-influx -s q -l quiet -d 'Errors only: no warnings, no summary'
complete -c p1-influx -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c p1-influx -s h -l help -d 'Print help (see more with \'--help\')'
complete -c p1-influx -s V -l version -d 'Print version'
