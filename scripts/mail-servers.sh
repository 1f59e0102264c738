#!/usr/bin/env bash
# Throwaway real mail servers on loopback for tests and benchmarks: Dovecot (IMAP, LMTP, SASL)
# and Postfix (SMTP submission) from Debian, each instance living entirely in one directory.
#
# Usage:
#   scripts/mail-servers.sh install                      Debian packages (no-op when present)
#   scripts/mail-servers.sh start DIR                    create/reuse DIR, start, print env.json
#   scripts/mail-servers.sh stop DIR                     stop; mail, ports and cert stay in DIR
#   scripts/mail-servers.sh status DIR                   print env.json if running, else exit 1
#   scripts/mail-servers.sh add-user DIR ADDR PASS       extra account (works while running)
#   scripts/mail-servers.sh deliver DIR ADDR FILE...     raw RFC 5322 files into ADDR's INBOX
#                                                        ("-" reads one message from stdin)
#   scripts/mail-servers.sh reset-uidvalidity DIR ADDR [MAILBOX]
#                                                        new UIDVALIDITY, messages kept
#
# After start, DIR/env (shell KEY=VALUE) and DIR/env.json (one JSON object, ports as numbers)
# hold: IMAP_HOST IMAP_PORT (plain + STARTTLS) IMAPS_PORT (implicit TLS) SMTP_HOST SMTP_PORT
# (submission, STARTTLS required before AUTH) SMTPS_PORT (implicit TLS) MX_PORT (port-25 style:
# no AUTH, accepts only for the test domain) CA_CERT TLS_NAME DOMAIN SUPPORT_USER SUPPORT_PASS
# CUSTOMER_USER CUSTOMER_PASS MAILDIR_ROOT (MAILDIR_ROOT/<address>/ is that user's Maildir++:
# INBOX in cur/new/tmp, folders as .Sent, .Drafts…). The last stdout line of start is env.json.
#
# Accounts: support@caixa.test / support-pass and customer@caixa.test / customer-pass; the login
# name is the full address. Mail for @caixa.test goes Postfix -> LMTP -> Dovecot (visible over
# IMAP ≈ 60 ms after the SMTP session starts; an IDLEing client hears of it ≈ 0.5 s later, Dovecot's
# fixed notify delay). Recipients elsewhere are refused at RCPT (550, Postfix's error transport)
# and unknown @caixa.test users too (550 5.1.1): nothing is queued, nothing leaves the machine.
# Wrong passwords fail at once (no Dovecot failure delay or auth penalty). reset-uidvalidity
# disconnects clients that have the mailbox selected ("IMAP session state is inconsistent").
#
# Several DIRs can run at once: every port, socket, pid file, queue and log is per DIR. Ports are
# chosen once (below the kernel's ephemeral range, so outgoing connections cannot take them
# while an instance is stopped) and reused by every later start of the same DIR, so a test can
# stop and start an instance to simulate an outage and reconnect to the same place.
#
# As root (CI, the dev machine): Postfix runs as its own `postfix` user, Dovecot's mail processes
# as the system `mail` user (Dovecot refuses uid 0 for mail), so DIR gets o+x and its parents must
# be searchable (anything under /tmp is). As a normal user only Dovecot can run (Postfix's master
# refuses to start without root): IMAP works and the SMTP keys are left out of env/env.json.
#
# Env: CAIXA_MAIL_WAIT_SECONDS (default 15) bounds every wait (ports, process exit, locks: 60 s).
#
# shellcheck disable=SC2153 # the *_PORT variables come from DIR/ports (sourced)
set -euo pipefail

DOMAIN=caixa.test
SUPPORT_USER="support@$DOMAIN" SUPPORT_PASS=support-pass
CUSTOMER_USER="customer@$DOMAIN" CUSTOMER_PASS=customer-pass
PACKAGES=(dovecot-imapd dovecot-lmtpd postfix isync openssl)
WAIT_SECONDS=${CAIXA_MAIL_WAIT_SECONDS:-15}

log() { printf 'mail-servers: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

usage() {
  sed -n '5,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------
cmd_install() {
  local missing=() pkg status
  while read -r status pkg; do
    [[ "$status" == "installed" ]] || missing+=("$pkg")
  done < <(for pkg in "${PACKAGES[@]}"; do
    # One dpkg-query per package: a single call stops at the first unknown name.
    printf '%s %s\n' "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || echo missing)" "$pkg"
  done)
  if ((${#missing[@]} == 0)); then
    stop_system_daemons
    return 0
  fi
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no sudo: install them as root"
    sudo=(sudo)
  fi
  log "installing ${missing[*]}"
  local t0=$SECONDS
  # "No configuration": Debian's postinst then writes no /etc/postfix/main.cf and starts nothing;
  # every instance here brings its own config anyway.
  echo 'postfix postfix/main_mailer_type select No configuration' | "${sudo[@]}" debconf-set-selections
  # Lock timeout: another apt (setup.sh, a CI step) may hold the dpkg lock; wait instead of failing.
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -y -qq)
  "${apt[@]}" update >/dev/null
  "${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null
  log "installed in $((SECONDS - t0)) s"
  stop_system_daemons
}

# The image's policy-rc.d keeps the maintainer scripts from starting the system daemons; should a
# machine lack it, a system Dovecot/Postfix would sit on 143/993/25 with the default config.
stop_system_daemons() {
  local pid
  pid="$(head -n1 /run/dovecot/master.pid 2>/dev/null || true)"
  if pid_is "$pid" dovecot; then
    log "stopping the system Dovecot (pid $pid) started by the package install"
    kill -TERM "$pid" 2>/dev/null || true
  fi
  pid="$(head -n1 /var/spool/postfix/pid/master.pid 2>/dev/null | tr -dc 0-9 || true)"
  if pid_is "$pid" master; then
    log "stopping the system Postfix (pid $pid) started by the package install"
    kill -TERM "$pid" 2>/dev/null || true
  fi
}

# ---------------------------------------------------------------------------------------------
# Per-DIR layout and helpers
# ---------------------------------------------------------------------------------------------
# set_paths DIR [create]
set_paths() {
  [[ -n "${1:-}" ]] || usage
  if [[ "${2:-}" == create ]]; then mkdir -p "$1"; fi
  [[ -d "$1" ]] || die "no such directory: $1"
  DIR="$(cd "$1" && pwd -P)"
  # Paths go unquoted into dovecot.conf and main.cf.
  [[ "$DIR" != *[[:space:]]* ]] || die "DIR must not contain whitespace: $DIR"
  # Dovecot's sockets live in DIR/run and DIR/spool/private; a Unix socket path must fit in 108
  # bytes, and the longest one here adds about 28.
  ((${#DIR} <= 78)) || die "DIR path too long for Unix sockets (${#DIR} > 78 chars): $DIR"
  CONF="$DIR/dovecot/dovecot.conf"
  USERS="$DIR/dovecot/users"
  RUN="$DIR/run"
  LOGS="$DIR/log"
  MAILROOT="$DIR/mail"
  HOMES="$DIR/home"
  TLS="$DIR/tls"
  PF_CONF="$DIR/postfix"
  PF_QUEUE="$DIR/spool"
  PF_DATA="$DIR/postfix-data"
  PORTS_FILE="$DIR/ports"
  INSTANCE="caixa-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"

  if [[ "$(id -u)" == 0 ]]; then
    AS_ROOT=1
    MAIL_USER=mail
    INTERNAL_USER=dovecot
    LOGIN_USER=dovenull
  else
    AS_ROOT=0
    MAIL_USER="$(id -un)"
    INTERNAL_USER="$MAIL_USER"
    LOGIN_USER="$MAIL_USER"
  fi
  MAIL_UID="$(id -u "$MAIL_USER")"
  MAIL_GID="$(id -g "$MAIL_USER")"
  INTERNAL_GROUP="$(id -gn "$INTERNAL_USER")"
}

# Serialises start/stop/add-user on one DIR (two tests sharing a DIR, or a retry racing a stop).
lock_dir() {
  exec 9>"$DIR/.lock"
  flock -w 60 9 || die "timed out waiting for the lock on $DIR"
}

# As the mail user: maildir files must belong to it, or Dovecot refuses to read them.
as_mail_user() {
  if ((AS_ROOT)); then
    setpriv --reuid="$MAIL_UID" --regid="$MAIL_GID" --clear-groups -- "$@"
  else
    "$@"
  fi
}

# A zombie counts as gone: its ports are closed, and PID 1 here reaps orphans only every few
# seconds (a stopped Dovecot master stays <defunct> for ≈ 2 s).
pid_alive() {
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 1
  local st
  st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  st="${st##*) }"
  [[ "${st%% *}" != Z ]]
}
dovecot_pid() { head -n1 "$RUN/master.pid" 2>/dev/null | tr -dc 0-9 || true; }
postfix_pid() { head -n1 "$PF_QUEUE/pid/master.pid" 2>/dev/null | tr -dc 0-9 || true; }
# The command line check guards against a stale pid file whose pid now belongs to someone else.
pid_is() { pid_alive "$1" && grep -q -a -F "$2" "/proc/$1/cmdline" 2>/dev/null; }
dovecot_running() { pid_is "$(dovecot_pid)" dovecot; }
postfix_running() { ((AS_ROOT)) && pid_is "$(postfix_pid)" master; }

listening_ports() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn 2>/dev/null | awk '{print $4}' | sed -n 's/^127\.0\.0\.1://p'
  else
    local p
    for p in "$@"; do
      (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && echo "$p"
    done
  fi
}

# Succeeds when every given port listens (want=up) or none does (want=down), polling every 20 ms.
wait_ports() {
  local want=$1
  shift
  local deadline=$((SECONDS + WAIT_SECONDS)) open p ok
  while :; do
    open=" $(listening_ports "$@" | tr '\n' ' ') "
    ok=1
    for p in "$@"; do
      if [[ "$want" == up && "$open" != *" $p "* ]] || [[ "$want" == down && "$open" == *" $p "* ]]; then
        ok=0
        break
      fi
    done
    ((ok)) && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.02
  done
}

show_logs() {
  local f
  for f in "$LOGS"/dovecot.out "$LOGS"/dovecot.log "$LOGS"/postfix.out "$LOGS"/postfix.log; do
    [[ -s "$f" ]] || continue
    log "--- tail of $f"
    tail -n 12 "$f" >&2
  done
}

# ---------------------------------------------------------------------------------------------
# First-time state: ports, certificate, users
# ---------------------------------------------------------------------------------------------
# The system python starts faster than a pyenv shim, and is always there on Debian.
python_bin() {
  command -v /usr/bin/python3 || command -v python3 || die "python3 is needed"
}

pick_ports() {
  [[ -s "$PORTS_FILE" ]] && return 0
  local py
  py="$(python_bin)"
  # A global lock and registry keep parallel first starts apart and keep ports of stopped DIRs
  # (which still own them) from being handed out again.
  "$py" - "$PORTS_FILE" "${TMPDIR:-/tmp}/caixa-mail-servers-$(id -u).ports" <<'PY'
import fcntl, os, random, socket, sys
ports_file, registry = sys.argv[1], sys.argv[2]
names = ["IMAP_PORT", "IMAPS_PORT", "SMTP_PORT", "SMTPS_PORT", "MX_PORT"]
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    lo = 32768
hi, lo = min(lo, 32768) - 1, 20000
with open(registry + ".lock", "a") as lk:
    fcntl.flock(lk, fcntl.LOCK_EX)
    taken, keep = set(), []
    try:
        for line in open(registry):
            port, _, owner = line.rstrip("\n").partition(" ")
            if os.path.exists(owner):  # the owner DIR's ports file
                taken.add(int(port))
                keep.append(line)
    except FileNotFoundError:
        pass
    chosen = []
    while len(chosen) < len(names):
        p = random.randint(lo, hi)
        if p in taken or p in chosen:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        chosen.append(p)
    with open(ports_file + ".tmp", "w") as f:
        f.writelines(f"{n}={p}\n" for n, p in zip(names, chosen))
    os.rename(ports_file + ".tmp", ports_file)
    with open(registry + ".tmp", "w") as f:
        f.writelines(keep + [f"{p} {ports_file}\n" for p in chosen])
    os.rename(registry + ".tmp", registry)
PY
}

make_cert() {
  [[ -s "$TLS/cert.pem" && -s "$TLS/key.pem" ]] && return 0
  mkdir -p "$TLS"
  # rustls trusts this self-signed cert as a root yet rejects a CA cert used as the server's end
  # entity: hence CA:FALSE + serverAuth. P-256 keys generate in milliseconds.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "extendedKeyUsage=serverAuth" \
    -addext "keyUsage=critical,digitalSignature" \
    -keyout "$TLS/key.pem.tmp" -out "$TLS/cert.pem.tmp" 2>"$TLS/openssl.err" ||
    die "openssl failed: $(cat "$TLS/openssl.err")"
  chmod 600 "$TLS/key.pem.tmp"
  chmod 644 "$TLS/cert.pem.tmp"
  mv "$TLS/key.pem.tmp" "$TLS/key.pem"
  mv "$TLS/cert.pem.tmp" "$TLS/cert.pem"
  rm -f "$TLS/openssl.err"
}

# passwd-file with {PLAIN} passwords: throwaway test accounts, and tests may read them back.
set_user() {
  local user=${1,,} pass=$2
  [[ "$user" == *@"$DOMAIN" && "$user" != *[[:space:]:]* ]] || die "user must look like name@$DOMAIN: $user"
  [[ "$pass" != *[[:space:]:]* ]] || die "password must not contain ':' or spaces"
  touch "$USERS"
  local tmp="$USERS.tmp"
  { awk -F: -v u="$user" '$1 != u' "$USERS"; printf '%s:{PLAIN}%s::::::\n' "$user" "$pass"; } >"$tmp"
  set_users_perms "$tmp"
  # rename: Dovecot re-reads the passwd-file when it changes, never half-written.
  mv "$tmp" "$USERS"
  # Postfix rejects unknown recipients at RCPT time from this list.
  cut -d: -f1 "$USERS" | sed 's/$/ OK/' >"$PF_CONF/vmailbox.tmp"
  # Like main.cf: a table modified within the last second makes each new smtpd wait (≈ 2 s
  # before the first banner of a fresh instance). reload/start read it anyway.
  touch -d '-10 sec' "$PF_CONF/vmailbox.tmp"
  mv "$PF_CONF/vmailbox.tmp" "$PF_CONF/vmailbox"
}

set_users_perms() {
  if ((AS_ROOT)); then
    # Read by Dovecot's auth process, which runs as the internal user.
    chown "root:$INTERNAL_GROUP" "$1"
    chmod 640 "$1"
  else
    chmod 600 "$1"
  fi
}

# ---------------------------------------------------------------------------------------------
# Configuration (rewritten on every start: cheap, and picks up changes to this script)
# ---------------------------------------------------------------------------------------------
write_dovecot_conf() {
  local extra=""
  if ((AS_ROOT)); then
    # For Postfix, inside its queue: its daemons chdir there as root before dropping privileges,
    # so they reach these sockets by relative path even when DIR's parents are closed to them.
    extra="service lmtp {
  unix_listener $PF_QUEUE/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener $PF_QUEUE/private/dovecot-auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}"
  else
    # Without root there is no chroot() (and no Postfix to serve).
    extra="service anvil {
  chroot =
}
service imap-login {
  chroot =
}"
  fi
  local ssl_dh=""
  [[ -r /usr/share/dovecot/dh.pem ]] && ssl_dh="ssl_dh = </usr/share/dovecot/dh.pem"
  mkdir -p "$DIR/dovecot"
  cat >"$CONF.tmp" <<EOF
# Generated by scripts/mail-servers.sh on every start: edit the script, not this file.
base_dir = $RUN
state_dir = $DIR/state
instance_name = $INSTANCE
listen = 127.0.0.1
protocols = imap lmtp
hostname = localhost
postmaster_address = postmaster@$DOMAIN
log_path = $LOGS/dovecot.log
info_log_path = $LOGS/dovecot.log

ssl = yes
ssl_cert = <$TLS/cert.pem
ssl_key = <$TLS/key.pem
$ssl_dh

# Loopback only: plaintext AUTH is fine on the non-TLS port (clients may still STARTTLS).
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
auth_verbose = yes
# Tests try wrong passwords on purpose: no 2 s failure delay (see the passdbs below)...
auth_failure_delay = 0

default_internal_user = $INTERNAL_USER
default_internal_group = $INTERNAL_GROUP
default_login_user = $LOGIN_USER
first_valid_uid = $MAIL_UID
first_valid_gid = $MAIL_GID

mail_location = maildir:$MAILROOT/%Lu
# Throwaway data: skipping fsync makes corpus loading and LMTP delivery much faster.
mail_fsync = never

namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
}

# With auth_failure_delay = 0, 2.3.19 still answers a failed login on its 500 ms failure timer
# unless the request carries "nodelay"; a failing passdb's own fields are rolled back, so this
# first passdb (looks nothing up, authenticates nobody, "continue" keeps the state at failure)
# adds it for every request. Wrong passwords and unknown users then fail in < 1 ms.
passdb {
  driver = static
  args = noauthenticate nodelay=yes
  result_success = continue
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $USERS
}
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$HOMES/%Lu
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
$extra
# ...and no anvil auth penalty, which otherwise delays every later login from 127.0.0.1 by up
# to 15 s after one failure.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
protocol imap {
  # Default 10 per user and IP: parallel tests and benchmarks open more from 127.0.0.1.
  mail_max_userip_connections = 1000
}
EOF
  mv "$CONF.tmp" "$CONF"
}

write_postfix_conf() {
  mkdir -p "$PF_CONF"
  cat >"$PF_CONF/main.cf" <<EOF
# Generated by scripts/mail-servers.sh on every start: edit the script, not this file.
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $PF_DATA
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
# Without maillog_file Postfix logs only to syslog (absent here).
maillog_file = $LOGS/postfix.log
maillog_file_prefixes = $LOGS

myhostname = localhost
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
smtpd_banner = \$myhostname ESMTP caixa test server

# Only the test domain is delivered (to Dovecot over LMTP, by a path relative to the queue).
# smtpd refuses at RCPT any recipient that resolves to the error transport: nothing is queued.
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$PF_CONF/vmailbox
virtual_transport = lmtp:unix:private/dovecot-lmtp
default_transport = error:this test server delivers only to @$DOMAIN
relay_transport = error:this test server delivers only to @$DOMAIN
local_transport = error:this test server delivers only to @$DOMAIN

smtpd_tls_cert_file = $TLS/cert.pem
smtpd_tls_key_file = $TLS/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/dovecot-auth
smtpd_sasl_auth_enable = no
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
message_size_limit = 52428800

# Test-friendly timing: no 1 s sleeps after errors or bursts, no reverse lookups, and a fast
# retry when Dovecot was down while Postfix held mail (outage tests).
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_peername_lookup = no
in_flow_delay = 0
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 10s
delay_warning_time = 0
EOF
  # Submission services must be authenticated; "-o" lines override main.cf per port.
  local sub="  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
  cat >"$PF_CONF/master.cf" <<EOF
# Generated by scripts/mail-servers.sh. No chroot anywhere (no /etc copies in the queue).
127.0.0.1:$MX_PORT inet n - n - - smtpd
  -o syslog_name=postfix/mx
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
$sub
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
$sub
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
proxywrite unix - - n -    1 proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
lmtp      unix  - - n -    - lmtp
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
  # Postfix waits in 300 ms steps while main.cf looks freshly written (mtime within a second).
  touch -d '-10 sec' "$PF_CONF/main.cf" "$PF_CONF/master.cf"
}

# What `postfix start` would create through post-install (≈ 2.3 s), made directly (≈ 10 ms).
make_postfix_dirs() {
  mkdir -p "$PF_QUEUE" "$PF_DATA"
  chmod 755 "$PF_QUEUE"
  local d
  for d in active bounce corrupt defer deferred flush hold incoming private saved trace maildrop public; do
    mkdir -p "$PF_QUEUE/$d"
  done
  mkdir -p "$PF_QUEUE/pid"
  chown postfix "$PF_DATA" "$PF_QUEUE"/{active,bounce,corrupt,defer,deferred,flush,hold,incoming,private,saved,trace}
  chmod 700 "$PF_DATA" "$PF_QUEUE"/{active,bounce,corrupt,defer,deferred,flush,hold,incoming,private,saved,trace}
  chown postfix:postdrop "$PF_QUEUE/maildrop" "$PF_QUEUE/public"
  chmod 730 "$PF_QUEUE/maildrop"
  chmod 710 "$PF_QUEUE/public"
  chmod 755 "$PF_QUEUE/pid"
}

make_dirs() {
  mkdir -p "$LOGS" "$RUN" "$DIR/state" "$MAILROOT" "$HOMES"
  if ((AS_ROOT)); then
    # Dovecot's mail and auth processes run unprivileged and open paths under DIR.
    chmod go+x "$DIR"
    chown "$MAIL_UID:$MAIL_GID" "$MAILROOT" "$HOMES"
    chmod 700 "$MAILROOT" "$HOMES"
    local u
    for u in "$MAIL_USER" "$INTERNAL_USER"; do
      setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- test -x "$DIR" ||
        die "user $u cannot reach $DIR: its parent directories must be searchable (o+x)"
    done
    make_postfix_dirs
  fi
}

write_env() {
  local running_smtp=$1 tmp="$DIR/env.tmp"
  local keys=(IMAP_HOST IMAP_PORT IMAPS_PORT)
  ((running_smtp)) && keys+=(SMTP_HOST SMTP_PORT SMTPS_PORT MX_PORT)
  keys+=(CA_CERT TLS_NAME DOMAIN SUPPORT_USER SUPPORT_PASS CUSTOMER_USER CUSTOMER_PASS MAILDIR_ROOT)
  # shellcheck disable=SC2034 # read through ${!k}
  local IMAP_HOST=127.0.0.1 SMTP_HOST=127.0.0.1 CA_CERT="$TLS/cert.pem" TLS_NAME=localhost
  # shellcheck disable=SC2034 # read through ${!k}
  local MAILDIR_ROOT="$MAILROOT"
  local k json="" sep=""
  : >"$tmp"
  for k in "${keys[@]}"; do
    printf '%s=%q\n' "$k" "${!k}" >>"$tmp"
    if [[ "$k" == *_PORT ]]; then
      json+="$sep\"$k\":${!k}"
    else
      # Values are paths, fixed names and [a-z@.-] strings: nothing to escape beyond \ and ".
      local v="${!k//\\/\\\\}"
      json+="$sep\"$k\":\"${v//\"/\\\"}\""
    fi
    sep=","
  done
  mv "$tmp" "$DIR/env"
  printf '{%s}\n' "$json" >"$DIR/env.json.tmp"
  mv "$DIR/env.json.tmp" "$DIR/env.json"
}

load_ports() {
  [[ -s "$PORTS_FILE" ]] || die "$DIR has no ports file: run start first"
  # shellcheck disable=SC1090
  source "$PORTS_FILE"
}

# ---------------------------------------------------------------------------------------------
# start / stop / status
# ---------------------------------------------------------------------------------------------
cmd_start() {
  set_paths "${1:-}" create
  command -v dovecot >/dev/null 2>&1 || die "dovecot not installed: run $0 install"
  lock_dir
  pick_ports
  load_ports
  make_cert
  make_dirs
  mkdir -p "$DIR/dovecot" "$PF_CONF"
  if [[ ! -s "$USERS" ]]; then
    set_user "$SUPPORT_USER" "$SUPPORT_PASS"
    set_user "$CUSTOMER_USER" "$CUSTOMER_PASS"
  fi
  set_users_perms "$USERS"

  local want=("$IMAP_PORT" "$IMAPS_PORT")
  if ! dovecot_running; then
    write_dovecot_conf
    # Dovecot keeps the stdio it was started with (a caller reading our output through a pipe
    # would never see EOF): files only.
    # Nor may it inherit the DIR lock (fd 9): that would block every later start/stop.
    dovecot -c "$CONF" </dev/null >"$LOGS/dovecot.out" 2>&1 9>&- || abort_start "dovecot failed to start"
  fi

  local smtp=0
  if ((AS_ROOT)); then
    smtp=1
    want+=("$SMTP_PORT" "$SMTPS_PORT" "$MX_PORT")
    if ! postfix_running; then
      write_postfix_conf
      # The queue is pre-created: skip postfix-script's integrity checks and post-install.
      touch "$PF_QUEUE/quick-start"
      postfix -c "$PF_CONF" start </dev/null >"$LOGS/postfix.out" 2>&1 9>&- ||
        abort_start "postfix failed to start"
    fi
  else
    log "not root: Postfix cannot run, starting IMAP only (no SMTP keys in env)"
  fi

  wait_ports up "${want[@]}" || abort_start "ports ${want[*]} not all listening after ${WAIT_SECONDS} s"
  write_env "$smtp"
  cat "$DIR/env.json"
}

# A half-started instance would hold ports and fool the next start's "already running" check.
abort_start() {
  show_logs
  stop_daemons || true
  die "$1"
}

# Start time of a process: with the pid it names that process, so a reused pid is never signalled.
proc_id() {
  local st
  st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  st="${st##*) }"
  # Field 22 of stat is the start time; after "pid (comm) " it is the 20th.
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- $st
  echo "${20}"
}

# Waits (bounded) until none of the "pid:starttime" entries is alive.
wait_gone() {
  local deadline=$1 p left
  shift
  while :; do
    left=""
    for p in "$@"; do
      pid_alive "${p%%:*}" && [[ "$(proc_id "${p%%:*}")" == "${p#*:}" ]] && left+=" ${p%%:*}"
    done
    [[ -z "$left" ]] && return 0
    ((SECONDS < deadline)) || { echo "$left"; return 1; }
    sleep 0.02
  done
}

# SIGTERM to the master (never kill -9 it: Dovecot's children then linger ≈ 30 s), then SIGTERM
# to whatever it had forked and left behind: an imap process whose client sits in IDLE outlives
# the master by ≈ 10 s otherwise, and "stop" promises that nothing is left.
stop_tree() {
  local name=$1 pid=$2
  pid_alive "$pid" || return 0
  local tree=() p id
  for p in $(ps -e -o pid=,ppid= | awk -v root="$pid" '
    { parent[$1] = $2 }
    END { for (p in parent) { q = p; while (q in parent && q != root && q > 1) q = parent[q]; if (q == root && p != root) print p } }'); do
    id="$(proc_id "$p")" && tree+=("$p:$id")
  done
  local deadline=$((SECONDS + WAIT_SECONDS)) left master
  master="$pid:$(proc_id "$pid" || echo gone)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! left="$(wait_gone "$deadline" "$master")"; then
    log "$name master $pid still alive after ${WAIT_SECONDS} s"
    return 1
  fi
  ((${#tree[@]})) || return 0
  for p in "${tree[@]}"; do
    [[ "$(proc_id "${p%%:*}" 2>/dev/null)" == "${p#*:}" ]] && kill -TERM "${p%%:*}" 2>/dev/null
  done
  if ! left="$(wait_gone "$deadline" "${tree[@]}")"; then
    log "$name processes still alive after ${WAIT_SECONDS} s:$left"
    return 1
  fi
}

stop_daemons() {
  local rc=0
  # Postfix first: it must not try LMTP into a Dovecot that is going away.
  if postfix_running; then stop_tree postfix "$(postfix_pid)" || rc=1; fi
  if dovecot_running; then stop_tree dovecot "$(dovecot_pid)" || rc=1; fi
  return "$rc"
}

cmd_stop() {
  # Idempotent, also for a teardown whose start never ran.
  [[ -n "${1:-}" && ! -e "$1" ]] && { log "nothing to stop: no $1"; return 0; }
  set_paths "${1:-}"
  [[ -s "$PORTS_FILE" ]] || { log "$DIR was never started"; return 0; }
  lock_dir
  load_ports
  local rc=0
  stop_daemons || rc=1
  if ! wait_ports down "$IMAP_PORT" "$IMAPS_PORT" "$SMTP_PORT" "$SMTPS_PORT" "$MX_PORT"; then
    log "ports still listening after ${WAIT_SECONDS} s"
    rc=1
  fi
  # env and env.json stay: same ports and paths on the next start (status says if it runs).
  return "$rc"
}

cmd_status() {
  set_paths "${1:-}"
  dovecot_running || { log "not running: $DIR"; return 1; }
  if ((AS_ROOT)) && ! postfix_running; then
    log "dovecot runs but postfix does not: $DIR"
    return 1
  fi
  cat "$DIR/env.json"
}

# ---------------------------------------------------------------------------------------------
# Accounts and mailboxes
# ---------------------------------------------------------------------------------------------
need_dovecot() { dovecot_running || die "dovecot is not running in $DIR: run $0 start $DIR first"; }
doveadm_() { doveadm -c "$CONF" "$@"; }

cmd_add_user() {
  (($# == 3)) || usage
  set_paths "$1"
  [[ -s "$USERS" ]] || die "$DIR was never started"
  lock_dir
  set_user "$2" "$3"
  if dovecot_running; then
    # Dovecot re-reads the passwd-file at most once per second: wait until the new password
    # works, or a login right after add-user would fail.
    local deadline=$((SECONDS + WAIT_SECONDS))
    until doveadm_ auth test -x service=imap "${2,,}" "$3" >/dev/null 2>&1; do
      ((SECONDS < deadline)) || die "dovecot did not pick up $2 within ${WAIT_SECONDS} s"
      sleep 0.1
    done
  fi
  # texthash maps are read when a Postfix daemon starts: reload so smtpd sees the new recipient.
  if postfix_running; then
    postfix -c "$PF_CONF" reload </dev/null >>"$LOGS/postfix.out" 2>&1 9>&- || die "postfix reload failed"
  fi
}

cmd_deliver() {
  (($# >= 3)) || usage
  set_paths "$1"
  local user=${2,,}
  shift 2
  need_dovecot
  cut -d: -f1 "$USERS" | grep -qxF "$user" || die "unknown user $user"
  if (($# == 1)); then
    # One message: doveadm save stores the bytes as given (no Received/Return-Path added).
    if [[ "$1" == - ]]; then
      doveadm_ save -u "$user" -m INBOX
    else
      [[ -r "$1" ]] || die "cannot read $1"
      doveadm_ save -u "$user" -m INBOX <"$1"
    fi
    return
  fi
  # Many messages: one doveadm per message costs ≈ 60 ms each; instead stage them as a Maildir
  # and import it in one process. Names sort in argument order, so UIDs follow argument order.
  local stage
  stage="$(as_mail_user mktemp -d "$HOMES/.import.XXXXXX")"
  trap 'rm -rf "$stage"' EXIT
  as_mail_user mkdir "$stage/new" "$stage/tmp" "$stage/cur"
  local f
  for f in "$@"; do [[ -r "$f" ]] || die "cannot read $f"; done
  # In Python: one cp process per file would cost more than the import itself.
  "$(python_bin)" - "$stage/cur" "$MAIL_UID" "$MAIL_GID" "$@" <<'PY'
import os, shutil, sys, time
dest, uid, gid, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
base = int(time.time()) - len(files) - 1
for i, f in enumerate(files, 1):
    # Dovecot sorts new Maildir files by the leading number: argument order becomes UID order.
    name = os.path.join(dest, f"{base + i}.M{i}.caixa:2,")
    shutil.copyfile(f, name)
    if os.geteuid() == 0:
        os.chown(name, uid, gid)
PY
  doveadm_ import -u "$user" -s "maildir:$stage" "" mailbox INBOX all
  rm -rf "$stage"
  trap - EXIT
}

cmd_reset_uidvalidity() {
  (($# == 2 || $# == 3)) || usage
  set_paths "$1"
  local user=${2,,} mbox=${3:-INBOX}
  need_dovecot
  local old new
  old="$(doveadm_ -f flow mailbox status -u "$user" uidvalidity "$mbox" | sed -n 's/.*uidvalidity=\([0-9]*\).*/\1/p')"
  [[ -n "$old" ]] || die "cannot read UIDVALIDITY of $user/$mbox"
  new=$(date +%s)
  ((new > old)) || new=$((old + 1))
  doveadm_ mailbox update -u "$user" --uid-validity "$new" "$mbox"
  local now
  now="$(doveadm_ -f flow mailbox status -u "$user" uidvalidity "$mbox" | sed -n 's/.*uidvalidity=\([0-9]*\).*/\1/p')"
  [[ "$now" == "$new" ]] || die "UIDVALIDITY of $user/$mbox is $now, wanted $new"
  log "$user/$mbox UIDVALIDITY $old -> $new"
}

# ---------------------------------------------------------------------------------------------
case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  add-user) shift; cmd_add_user "$@" ;;
  deliver) shift; cmd_deliver "$@" ;;
  reset-uidvalidity) shift; cmd_reset_uidvalidity "$@" ;;
  *) usage ;;
esac
