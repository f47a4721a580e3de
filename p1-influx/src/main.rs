fn main() -> std::process::ExitCode {
    p1_influx::main()
}
