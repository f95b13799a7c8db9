# A software TPM (swtpm, TPM 2.0, socket mode) on loopback for shell tests and benchmarks.
# Source it, then:
#   swtpm_start DIR     starts swtpm keeping its state in DIR (created); exports FWSEAL_TCTI,
#                       sets SWTPM_PORT (server; control is SWTPM_PORT + 1) and SWTPM_PID
#   swtpm_reboot        a power cycle: same state, a new process (PCRs reset, reset count + 1)
#   swtpm_stop          stops it (call it from the caller's EXIT trap)
# Ports are picked at random among even ports 20000..59998 and retried when taken.
SWTPM_PID= SWTPM_PORT= SWTPM_DIR=

swtpm_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

swtpm_try() {
  local port=$1 i
  # A port in use would answer for someone else's process.
  if swtpm_port_open "$port" || swtpm_port_open $((port + 1)); then return 1; fi
  swtpm socket --tpm2 --tpmstate "dir=$SWTPM_DIR" \
    --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
    --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
    --flags not-need-init,startup-clear >/dev/null 2>&1 &
  SWTPM_PID=$!
  for i in $(seq 1 100); do
    if ! kill -0 "$SWTPM_PID" 2>/dev/null; then SWTPM_PID=; return 1; fi
    if swtpm_port_open "$port"; then
      SWTPM_PORT=$port
      export FWSEAL_TCTI="swtpm:host=127.0.0.1,port=$port"
      return 0
    fi
    sleep 0.02
  done
  swtpm_stop
  return 1
}

swtpm_start() {
  command -v swtpm >/dev/null || { echo "swtpm is not installed" >&2; return 1; }
  SWTPM_DIR=$1
  mkdir -p "$SWTPM_DIR"
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    swtpm_try $((20000 + (RANDOM % 20000) * 2)) && return 0
  done
  echo "swtpm could not start on 127.0.0.1" >&2
  return 1
}

swtpm_stop() {
  if [ -n "$SWTPM_PID" ]; then
    kill "$SWTPM_PID" 2>/dev/null || true
    wait "$SWTPM_PID" 2>/dev/null || true
  fi
  SWTPM_PID=
}

swtpm_reboot() {
  local port=$SWTPM_PORT
  swtpm_stop
  swtpm_try "$port" || swtpm_start "$SWTPM_DIR"
}
