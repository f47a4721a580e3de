# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_p1_prices_global_optspecs
    string join \n q/quiet v/verbose h/help V/version
end

function __fish_p1_prices_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_p1_prices_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_p1_prices_using_subcommand
    set -l cmd (__fish_p1_prices_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c p1-prices -n "__fish_p1_prices_needs_command" -s q -l quiet -d 'Errors only: no warnings, no summary'
complete -c p1-prices -n "__fish_p1_prices_needs_command" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c p1-prices -n "__fish_p1_prices_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c p1-prices -n "__fish_p1_prices_needs_command" -s V -l version -d 'Print version'
complete -c p1-prices -n "__fish_p1_prices_needs_command" -f -a "entsoe" -d 'ENTSO-E\'s transparency platform: the day-ahead auction (A44) of a bidding zone'
complete -c p1-prices -n "__fish_p1_prices_needs_command" -f -a "energyzero" -d 'EnergyZero\'s public prices of the Netherlands, no token'
complete -c p1-prices -n "__fish_p1_prices_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c p1-prices -n "__fish_p1_prices_using_subcommand entsoe" -l zone -d 'The bidding zone' -r -f -a "BE\t''
NL\t''"
complete -c p1-prices -n "__fish_p1_prices_using_subcommand entsoe" -l token-file -d 'A file holding the platform\'s security token (readable by its owner only)' -r -F
complete -c p1-prices -n "__fish_p1_prices_using_subcommand entsoe" -l out -d 'The price file to write (p1-relay --prices reads it)' -r -F
complete -c p1-prices -n "__fish_p1_prices_using_subcommand entsoe" -l url -d 'Ask this server instead (scheme, host and port: http://127.0.0.1:8080)' -r
complete -c p1-prices -n "__fish_p1_prices_using_subcommand entsoe" -l day -d 'The day, YYYY-MM-DD (default: tomorrow in Brussels time)' -r
complete -c p1-prices -n "__fish_p1_prices_using_subcommand entsoe" -l add -d 'Added to each market price, EUR a kWh (grid fees, taxes, the supplier\'s margin)' -r
complete -c p1-prices -n "__fish_p1_prices_using_subcommand entsoe" -l multiply -d 'Each price plus --add is multiplied by this (1.06: 6% VAT)' -r
complete -c p1-prices -n "__fish_p1_prices_using_subcommand entsoe" -s h -l help -d 'Print help'
complete -c p1-prices -n "__fish_p1_prices_using_subcommand energyzero" -l out -d 'The price file to write (p1-relay --prices reads it)' -r -F
complete -c p1-prices -n "__fish_p1_prices_using_subcommand energyzero" -l url -d 'Ask this server instead (scheme, host and port: http://127.0.0.1:8080)' -r
complete -c p1-prices -n "__fish_p1_prices_using_subcommand energyzero" -l day -d 'The day, YYYY-MM-DD (default: tomorrow in Brussels time)' -r
complete -c p1-prices -n "__fish_p1_prices_using_subcommand energyzero" -l add -d 'Added to each market price, EUR a kWh (grid fees, taxes, the supplier\'s margin)' -r
complete -c p1-prices -n "__fish_p1_prices_using_subcommand energyzero" -l multiply -d 'Each price plus --add is multiplied by this (1.06: 6% VAT)' -r
complete -c p1-prices -n "__fish_p1_prices_using_subcommand energyzero" -s h -l help -d 'Print help'
complete -c p1-prices -n "__fish_p1_prices_using_subcommand help; and not __fish_seen_subcommand_from entsoe energyzero help" -f -a "entsoe" -d 'ENTSO-E\'s transparency platform: the day-ahead auction (A44) of a bidding zone'
complete -c p1-prices -n "__fish_p1_prices_using_subcommand help; and not __fish_seen_subcommand_from entsoe energyzero help" -f -a "energyzero" -d 'EnergyZero\'s public prices of the Netherlands, no token'
complete -c p1-prices -n "__fish_p1_prices_using_subcommand help; and not __fish_seen_subcommand_from entsoe energyzero help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
