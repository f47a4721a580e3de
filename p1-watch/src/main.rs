fn main() -> std::process::ExitCode {
    p1_watch::main()
}
