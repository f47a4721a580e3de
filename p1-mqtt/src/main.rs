fn main() -> std::process::ExitCode {
    p1_mqtt::main()
}
