fn main() { lockerd::cli::main() }
