complete -c p1-relay -s c -l config -d 'The TOML configuration of the loads' -r -F
complete -c p1-relay -l dry-run -d 'Decide and report, switch nothing (any switch type)'
complete -c p1-relay -l passthrough -d 'Forward the input lines to stdout too, before the events they cause'
complete -c p1-relay -l check -d 'Check the configuration, print its warnings, and exit'
complete -c p1-relay -s q -l quiet -d 'Errors only'
complete -c p1-relay -s v -l verbose -d 'More detail on stderr'
complete -c p1-relay -s h -l help -d 'Print help (see more with \'--help\')'
complete -c p1-relay -s V -l version -d 'Print version'
