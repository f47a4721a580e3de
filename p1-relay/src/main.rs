fn main() -> std::process::ExitCode {
    p1_relay::main()
}
