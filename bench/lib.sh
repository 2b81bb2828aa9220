# The common start of the bench scripts, which source it (it is not run on
# its own): strict mode, the repository root as the working directory, a
# scratch directory $tmp removed on exit (a script with more to clean up
# sets its own trap, which removes $tmp too), and the machine's
# description.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cpu_name prints the CPU's model name.
cpu_name() { grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'; }

# machine_section prints the "## machine" section of the go test -bench
# and hyperfine runs; $1, if given, ends its kernel line (which revisions
# are compared).
machine_section() {
  echo "## machine"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu: $(cpu_name), $(nproc) cores"
  echo "kernel: $(uname -r); $(go version)${1:+; $1}"
  echo
}

# machine_header prints the machine, kernel, Go, date and load lines that
# open a RESULTS.md section; $1, if given, adds to the kernel line (the
# version of another component measured).
machine_header() {
  echo "Machine: $(cpu_name), $(nproc) cores,"
  echo "kernel $(uname -r), $(go version | cut -d' ' -f3-)${1:+, $1}."
  echo "Date: $(date -u +%Y-%m-%d); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
}
