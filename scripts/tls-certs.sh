#!/usr/bin/env bash
# Generates throw-away TLS material for the TLS tests (never commit the output).
#
# usage: scripts/tls-certs.sh DIR
#
# Writes into DIR (PEM; keys are unencrypted PKCS#8, EC P-256):
#   ca.pem ca.key                          test CA
#   server.pem server.key                  CN=localhost, SAN DNS:localhost + IP:127.0.0.1, by the test CA
#   client.pem client.key                  CN=nucleon-tls-user (clientAuth), by the test CA
#   other-ca.pem other-ca.key              a second CA nobody trusts
#   unknown-server.pem unknown-server.key  like server.pem, but issued by the other CA
#   expired-server.pem expired-server.key  like server.pem, by the test CA, valid 2020-01-01..2020-01-02 only
#   wrong-name-server.pem/.key             CN/SAN wrong.example (no localhost), by the test CA
#   unknown-client.pem unknown-client.key  CN=nucleon-tls-user, issued by the other CA (the broker refuses it)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 1; }
DIR="$1"
mkdir -p "$DIR"
cd "$DIR"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

ca() { # name subject
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days 30 -subj "$2" -out "$1.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash"
}

ext() { # file san eku
    cat > "$1" <<EXT
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = $3
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
${2:+subjectAltName = $2}
EXT
}

leaf() { # name subject issuer san eku
    key "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
    ext "$1.ext" "$4" "$5"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -sha256 -days 30 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=Nucleon Test CA"
ca other-ca "/CN=Nucleon Unknown CA"
leaf server "/CN=localhost" ca "DNS:localhost,IP:127.0.0.1" serverAuth
leaf client "/CN=nucleon-tls-user" ca "" clientAuth
leaf unknown-server "/CN=localhost" other-ca "DNS:localhost,IP:127.0.0.1" serverAuth
leaf unknown-client "/CN=nucleon-tls-user" other-ca "" clientAuth
leaf wrong-name-server "/CN=wrong.example" ca "DNS:wrong.example" serverAuth

# x509 -req in OpenSSL 3.0 cannot backdate; `openssl ca` can (-startdate/-enddate).
key expired-server.key
openssl req -new -key expired-server.key -subj "/CN=localhost" -out expired-server.csr
mkdir -p ca-db
: > ca-db/index.txt
openssl rand -hex 16 > ca-db/serial
ext expired-server.ext "DNS:localhost,IP:127.0.0.1" serverAuth
cat > ca-db/ca.cnf <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $PWD/ca-db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
CNF
openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in expired-server.csr \
    -startdate 20200101000000Z -enddate 20200102000000Z -extfile expired-server.ext -notext \
    -out expired-server.pem 2>/dev/null
rm -rf ca-db expired-server.csr expired-server.ext ca.srl other-ca.srl
openssl verify -CAfile ca.pem server.pem client.pem wrong-name-server.pem >/dev/null
