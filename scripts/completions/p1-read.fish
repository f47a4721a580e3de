complete -c p1-read -s h -l help -d 'Print help'
complete -c p1-read -s V -l version -d 'Print version'
