fn main() -> std::process::ExitCode {
    p1_prices::main()
}
