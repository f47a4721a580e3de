# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_p1_relay_global_optspecs
    string join \n c/config= control= dry-run check prices= plan json passthrough q/quiet v/verbose h/help V/version
end

function __fish_p1_relay_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_p1_relay_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_p1_relay_using_subcommand
    set -l cmd (__fish_p1_relay_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c p1-relay -n "__fish_p1_relay_needs_command" -s c -l config -d 'The TOML configuration of the loads' -r -F
complete -c p1-relay -n "__fish_p1_relay_needs_command" -l control -d 'Answer requests on this Unix socket (owner only): a load\'s mode set to on, off or auto, for a time or until changed, and every load\'s state (p1-relay ctl, p1-mqtt)' -r -F
complete -c p1-relay -n "__fish_p1_relay_needs_command" -l prices -d 'The price file (p1-prices --out, one slot a line): read at start and again whenever it changes; the loads\' price rules read it' -r -F
complete -c p1-relay -n "__fish_p1_relay_needs_command" -l dry-run -d 'Decide and report, switch nothing (any switch type)'
complete -c p1-relay -n "__fish_p1_relay_needs_command" -l check -d 'Check the configuration, print its warnings, and exit'
complete -c p1-relay -n "__fish_p1_relay_needs_command" -l plan -d 'Print what the price rules would do for the next 24 hours, a load and a quarter hour a line (load, start, price, on or off, why), and exit; switches nothing'
complete -c p1-relay -n "__fish_p1_relay_needs_command" -l json -d 'The plan as NDJSON, one object a line with the keys load, start, price, state, why'
complete -c p1-relay -n "__fish_p1_relay_needs_command" -l passthrough -d 'Forward every input record to stdout too, before what it leads to: one stream for the stages after'
complete -c p1-relay -n "__fish_p1_relay_needs_command" -s q -l quiet -d 'Errors only: no warnings, no summary'
complete -c p1-relay -n "__fish_p1_relay_needs_command" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c p1-relay -n "__fish_p1_relay_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c p1-relay -n "__fish_p1_relay_needs_command" -s V -l version -d 'Print version'
complete -c p1-relay -n "__fish_p1_relay_needs_command" -f -a "ctl" -d 'Ask a running p1-relay through its control socket: ctl PATH status, or ctl PATH LOAD on|off|auto [--for 2h] (on and off hold until changed, or for the time given; stale data still turns a load off)'
complete -c p1-relay -n "__fish_p1_relay_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c p1-relay -n "__fish_p1_relay_using_subcommand ctl" -l for -d 'How long the mode holds, then the load goes back to auto: 90s, 30m, 2h, 1h30m, or a bare number of seconds (--for 2 is two seconds, not two hours)' -r
complete -c p1-relay -n "__fish_p1_relay_using_subcommand ctl" -s h -l help -d 'Print help'
complete -c p1-relay -n "__fish_p1_relay_using_subcommand help; and not __fish_seen_subcommand_from ctl help" -f -a "ctl" -d 'Ask a running p1-relay through its control socket: ctl PATH status, or ctl PATH LOAD on|off|auto [--for 2h] (on and off hold until changed, or for the time given; stale data still turns a load off)'
complete -c p1-relay -n "__fish_p1_relay_using_subcommand help; and not __fish_seen_subcommand_from ctl help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
