complete -c p1-relay -l config -d 'The TOML configuration of the loads' -r -F
complete -c p1-relay -l dry-run -d 'Decide and report, switch nothing'
complete -c p1-relay -s h -l help -d 'Print help'
complete -c p1-relay -s V -l version -d 'Print version'
