//! A throw-away OpenLDAP server for the LDAP tests: Debian's `slapd` (packages `slapd` and
//! `ldap-utils`) in a temporary folder, started once per test binary.
//!
//! Its configuration is a `slapd.conf` (`-f`), its database an mdb loaded by `slapadd`
//! with the base tree (`dc=example,dc=org`, `ou=people`, `ou=groups`, a read-only service
//! account). It listens on 127.0.0.1 on two free ports: `ldap://` (StartTLS offered) and
//! `ldaps://`, with a server certificate signed by a CA made here with the `openssl` CLI.
//! `allow bind_anon_dn` makes it accept an "unauthenticated bind" (a DN with an empty
//! password) as anonymous, as many servers do, and anyone may read entries: the empty
//! password test shows that our backend never binds so.
//!
//! slapd runs in the foreground under a `sh` whose standard input is a pipe this process
//! holds until it exits: the shell kills slapd when the pipe closes (also when the test
//! binary is killed), so no server outlives the tests. Readiness is awaited by polling
//! `ldapwhoami`, never by a fixed sleep.
//!
//! Tests add their own entries ([`Slapd::add_user`], [`Slapd::add_group`]) with unique
//! names, so that tests running in parallel never share one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::REQUIRE_ALL_ENV;

/// The suffix of the test tree.
pub const SUFFIX: &str = "dc=example,dc=org";
/// Where people live.
pub const PEOPLE: &str = "ou=people,dc=example,dc=org";
/// Where groups live.
pub const GROUPS: &str = "ou=groups,dc=example,dc=org";
/// The read-only service account (for search-then-bind).
pub const READER_DN: &str = "cn=reader,dc=example,dc=org";
/// Its password.
pub const READER_PASSWORD: &str = "reader-secret";
const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PASSWORD: &str = "admin-secret";

/// The running server.
pub struct Slapd {
    /// Port of `ldap://127.0.0.1:port` (plain, StartTLS offered).
    pub ldap_port: u16,
    /// Port of `ldaps://127.0.0.1:port`.
    pub ldaps_port: u16,
    /// The CA that signed the server's certificate (PEM).
    pub ca_file: PathBuf,
    dir: tempfile::TempDir,
    _child: Child,
    /// Held open until the process exits: its end stops slapd.
    _lifeline: ChildStdin,
}

static SLAPD: OnceLock<Option<Slapd>> = OnceLock::new();

/// The shared server, started at the first call; `None` (said on stderr) when slapd is not
/// installed, unless [`REQUIRE_ALL_ENV`] is `1`: then it panics.
pub fn slapd() -> Option<&'static Slapd> {
    SLAPD
        .get_or_init(|| {
            let installed = Path::new("/usr/sbin/slapd").exists()
                && Command::new("ldapwhoami")
                    .arg("-VV")
                    .output()
                    .is_ok_and(|o| o.status.success() || !o.stderr.is_empty());
            if !installed {
                assert!(
                    std::env::var(REQUIRE_ALL_ENV).as_deref() != Ok("1"),
                    "slapd and ldap-utils are required ({REQUIRE_ALL_ENV}=1): \
                     apt-get install slapd ldap-utils"
                );
                eprintln!("skipped: slapd is not installed (apt-get install slapd ldap-utils)");
                return None;
            }
            Some(Slapd::start())
        })
        .as_ref()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A port nobody listens on now (the listener is dropped at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Slapd {
    fn start() -> Slapd {
        let dir = tempfile::tempdir().expect("temporary folder");
        let d = dir.path();
        let p = |name: &str| d.join(name).to_str().expect("UTF-8 path").to_owned();
        // A CA, and a server certificate for 127.0.0.1 (and localhost) signed by it.
        run(Command::new("openssl").args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=auth-tests LDAP CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
        ]));
        run(Command::new("openssl").args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
        ]));
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write");
        run(Command::new("openssl").args([
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-extfile",
            &p("server.ext"),
            "-out",
            &p("server.pem"),
        ]));
        std::fs::create_dir(d.join("db")).expect("mkdir");
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             pidfile {pid}\n\
             TLSCACertificateFile {ca}\n\
             TLSCertificateFile {cert}\n\
             TLSCertificateKeyFile {key}\n\
             allow bind_anon_dn\n\
             database mdb\n\
             suffix \"{SUFFIX}\"\n\
             rootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PASSWORD}\n\
             directory {db}\n\
             maxsize 104857600\n\
             access to attrs=userPassword by anonymous auth by self write by * none\n\
             access to * by * read\n",
            pid = p("slapd.pid"),
            ca = p("ca.pem"),
            cert = p("server.pem"),
            key = p("server.key"),
            db = p("db"),
        );
        std::fs::write(d.join("slapd.conf"), conf).expect("write");
        let base = format!(
            "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
             dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n\n\
             dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: reader\nuserPassword: {READER_PASSWORD}\n"
        );
        std::fs::write(d.join("base.ldif"), base).expect("write");
        run(Command::new("/usr/sbin/slapadd").args([
            "-f",
            &p("slapd.conf"),
            "-l",
            &p("base.ldif"),
        ]));
        let (ldap_port, ldaps_port) = (free_port(), free_port());
        let urls = format!("ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/");
        let log = std::fs::File::create(d.join("slapd.log")).expect("log file");
        // slapd in the foreground (-d 0), in the background of a shell that waits for the
        // end of its standard input, then stops it.
        let mut child = Command::new("sh")
            .args([
                "-c",
                "/usr/sbin/slapd -f \"$1\" -h \"$2\" -d 0 </dev/null & pid=$!; cat >/dev/null; kill $pid",
                "slapd-lifeline",
                &p("slapd.conf"),
                &urls,
            ])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start slapd");
        let lifeline = child.stdin.take().expect("stdin");
        let slapd = Slapd {
            ldap_port,
            ldaps_port,
            ca_file: d.join("ca.pem"),
            dir,
            _child: child,
            _lifeline: lifeline,
        };
        slapd.wait_ready();
        slapd
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = Command::new("ldapwhoami")
                .args([
                    "-x",
                    "-H",
                    &self.ldap_url(),
                    "-D",
                    READER_DN,
                    "-w",
                    READER_PASSWORD,
                ])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return;
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default();
                panic!("slapd did not answer within 30 s; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `ldap://127.0.0.1:<port>`.
    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    /// `ldaps://127.0.0.1:<port>`.
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// Applies `ldif` with `ldapmodify` as the root DN (`add` adds entries).
    pub fn modify(&self, ldif: &str, add: bool) {
        let mut cmd = Command::new("ldapmodify");
        cmd.args([
            "-x",
            "-H",
            &self.ldap_url(),
            "-D",
            ROOT_DN,
            "-w",
            ROOT_PASSWORD,
        ]);
        if add {
            cmd.arg("-a");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ldapmodify");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(ldif.as_bytes())
            .expect("write ldif");
        let out = child.wait_with_output().expect("ldapmodify");
        assert!(
            out.status.success(),
            "ldapmodify: {}{}\n{ldif}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Adds the person `uid` under [`PEOPLE`]; returns its DN.
    pub fn add_user(&self, uid: &str, password: &str, mail: Option<&str>) -> String {
        let dn = format!("uid={uid},{PEOPLE}");
        let mut ldif = format!(
            "dn: {dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: Test\nuserPassword: {password}\n"
        );
        if let Some(mail) = mail {
            ldif.push_str(&format!("mail: {mail}\n"));
        }
        self.modify(&ldif, true);
        dn
    }

    /// Adds the groupOfNames `cn` under [`GROUPS`] with `members` (DNs); returns its DN.
    pub fn add_group(&self, cn: &str, members: &[&str]) -> String {
        let dn = format!("cn={cn},{GROUPS}");
        let mut ldif = format!("dn: {dn}\nobjectClass: groupOfNames\ncn: {cn}\n");
        for member in members {
            ldif.push_str(&format!("member: {member}\n"));
        }
        self.modify(&ldif, true);
        dn
    }

    /// Replaces the members of the group `group_dn` (at least one: groupOfNames needs one).
    pub fn set_members(&self, group_dn: &str, members: &[&str]) {
        let mut ldif = format!("dn: {group_dn}\nchangetype: modify\nreplace: member\n");
        for member in members {
            ldif.push_str(&format!("member: {member}\n"));
        }
        self.modify(&ldif, false);
    }

    /// Whether the server accepts a bind as `dn` with `password`, and as whom
    /// (`ldapwhoami`'s answer, e.g. `anonymous`).
    pub fn whoami(&self, dn: &str, password: &str) -> Option<String> {
        let out = Command::new("ldapwhoami")
            .args(["-x", "-H", &self.ldap_url(), "-D", dn, "-w", password])
            .output()
            .expect("ldapwhoami");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

/// A name no other test uses (`prefix` and a random suffix, lower case).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}
