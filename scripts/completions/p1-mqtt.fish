complete -c p1-mqtt -l broker -d 'mqtt://HOST[:1883] or mqtts://HOST[:8883] (TLS, certificates verified)' -r
complete -c p1-mqtt -l client-id -d 'The client id (default: p1-mqtt-<meter_id>)' -r
complete -c p1-mqtt -l username -d 'The user name (password from --password-file or MQTT_PASSWORD)' -r
complete -c p1-mqtt -l password-file -d 'A file holding the password' -r -F
complete -c p1-mqtt -l ca-file -d 'mqtts: the CA certificates (PEM) to verify the broker with (default: the system\'s)' -r -F
complete -c p1-mqtt -l client-cert -d 'mqtts: a client certificate (PEM), with --client-key' -r -F
complete -c p1-mqtt -l client-key -d 'mqtts: the client certificate\'s key (PEM)' -r -F
complete -c p1-mqtt -l topic-prefix -d 'The first level of every topic' -r
complete -c p1-mqtt -l discovery-prefix -d 'Home Assistant\'s discovery prefix; none publishes no discovery' -r
complete -c p1-mqtt -l interval -d 'Publish a meter\'s state at most this often (0: every telegram). The default keeps Home Assistant\'s recorder from filling with one row a second per key' -r
complete -c p1-mqtt -l control -d 'p1-relay\'s control socket: loads\' modes can be set over MQTT' -r -F
complete -c p1-mqtt -l prices -d 'The price file p1-relay reads (--prices): each price record is published with the next 24 hours of it as the attribute next_24h' -r -F
complete -c p1-mqtt -l meter-id -d 'The meter id to publish under, before (or instead of) the one the readings carry' -r
complete -c p1-mqtt -l queue -d 'Relay events kept while the broker is away; past it the oldest go' -r
complete -c p1-mqtt -l stale-after -d 'No reading for this long (wall clock): the status says offline, so Home Assistant shows the sensors unavailable, until the next reading' -r
complete -c p1-mqtt -l split -d 'Also one topic per key of the reading (<prefix>/<meter_id>/<key>, the bare value)'
complete -c p1-mqtt -l telegrams -d 'Also the raw telegram of each envelope (<prefix>/<meter_id>/telegram)'
complete -c p1-mqtt -l passthrough -d 'Forward every input record to stdout too, before what it leads to: one stream for the stages after'
complete -c p1-mqtt -s q -l quiet -d 'Errors only: no warnings, no summary'
complete -c p1-mqtt -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c p1-mqtt -s h -l help -d 'Print help (see more with \'--help\')'
complete -c p1-mqtt -s V -l version -d 'Print version'
