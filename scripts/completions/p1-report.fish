complete -c p1-report -l by -d 'Only days, or only months (default: both, each month after its days)' -r -f -a "day\t''
month\t''"
complete -c p1-report -l format -d 'How the figures are written: a table, CSV with a header, or NDJSON day and month records (see p1(5))' -r -f -a "table\t''
csv\t''
json\t''"
complete -c p1-report -l prices -d 'A price file (p1-prices --out): each day and month also gets its import cost, export revenue and net, the energy of every quarter hour times its price' -r -F
complete -c p1-report -l plot -d 'Also draw the period\'s net power, quarter-hour averages and month peaks as an SVG' -r -F
complete -c p1-report -s q -l quiet -d 'Errors only: no warnings, no summary'
complete -c p1-report -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c p1-report -s h -l help -d 'Print help (see more with \'--help\')'
complete -c p1-report -s V -l version -d 'Print version'
