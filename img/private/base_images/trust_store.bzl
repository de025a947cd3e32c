"""trust_store: CA certificates as a system trust store."""

load("//img/private/base_images:common.bzl", "BASE_CONTENT_ATTRS", "SCOPE_ALL", "base_content")
load("//img/private/common:build.bzl", "TOOLCHAINS")
load("//img/private/providers:base_image_content_info.bzl", "BaseImageContentInfo")

_ATTRS = BASE_CONTENT_ATTRS | {
    "certs": attr.label_list(
        allow_files = True,
        doc = """Certificate files: PEM (any number of certificates; other blocks such as
keys or CRLs are skipped), DER or PKCS#7. A directory (e.g. a tree
artifact) adds every file in it, in name order, each of which must hold
certificates.""",
    ),
    "debs": attr.label_list(
        allow_files = [".deb"],
        doc = """Debian packages (e.g. `ca-certificates`) whose `.crt` and `.pem` files
under `/usr/share/ca-certificates` and `/usr/local/share/ca-certificates`
(or the RPM directories) are added. Only gzip-, zstd- or un-compressed data
tars are read. A package without such files is an error.""",
    ),
    "rpms": attr.label_list(
        allow_files = [".rpm"],
        doc = """RPM packages whose `.crt` and `.pem` files under
`/usr/share/pki/ca-trust-source/anchors`, `/etc/pki/ca-trust/source/anchors`
or the Debian directories are added. Only gzip- or zstd-compressed payloads
are read. Fedora's `ca-certificates` package ships its bundle in p11-kit's
format, which is not read: use it through `certs` after extracting it.""",
    ),
    "bundle": attr.bool(
        default = True,
        doc = "Whether to write all certificates, PEM-encoded, into one file (`SSL_CERT_FILE`, Go, curl, Python).",
    ),
    "bundle_path": attr.string(
        default = "/etc/ssl/certs/ca-certificates.crt",
        doc = "Path of the bundle in the image (Debian's path, which OpenSSL-based distributions and Go look for).",
    ),
    "exploded": attr.bool(
        default = True,
        doc = """Whether to write one PEM file per certificate into `exploded_dir`, with
the `<subject hash>.<n>` symlinks that OpenSSL looks certificates up by
(`SSL_CERT_DIR`, `openssl rehash`).""",
    ),
    "exploded_dir": attr.string(
        default = "/etc/ssl/certs",
        doc = "Directory of the per-certificate files in the image.",
    ),
    "java_keystore": attr.bool(
        default = False,
        doc = """Whether to write a PKCS#12 truststore for the JVM (trusted-certificate
entries only; PBES2 with AES-256 and an HMAC-SHA-256 integrity check, read
by Java 8u301, 11.0.12 and later). Its bytes depend only on the
certificates and the password.""",
    ),
    "java_keystore_path": attr.string(
        default = "/etc/ssl/certs/java/cacerts",
        doc = "Path of the Java truststore in the image (Debian's; the JDK's `lib/security/cacerts` often links to it).",
    ),
    "java_keystore_password": attr.string(
        default = "changeit",
        doc = "Password of the truststore's integrity check. The store holds no secret; `changeit` is the JDK's default.",
    ),
    "mode": attr.string(doc = "Octal mode of the written files; empty: 0644."),
}

def _trust_store_impl(ctx):
    if not base_content.in_scope(ctx, SCOPE_ALL):
        return base_content.empty()
    certs = ctx.files.certs
    debs = ctx.files.debs
    rpms = ctx.files.rpms
    if not certs and not debs and not rpms:
        fail("{}: trust_store needs certs, debs or rpms".format(ctx.label))
    if not (ctx.attr.bundle or ctx.attr.exploded or ctx.attr.java_keystore):
        fail("{}: bundle, exploded and java_keystore are all False: nothing to write".format(ctx.label))
    base_content.check_mode(ctx, "mode", ctx.attr.mode)
    for name in ["bundle_path", "exploded_dir", "java_keystore_path"]:
        base_content.check_path(ctx, name, getattr(ctx.attr, name))
    config = {
        "bundle": ctx.attr.bundle,
        "bundle_path": ctx.attr.bundle_path,
        "certs": [f.path for f in certs],
        "debs": [f.path for f in debs],
        "exploded": ctx.attr.exploded,
        "exploded_dir": ctx.attr.exploded_dir,
        "java_keystore": ctx.attr.java_keystore,
        "java_keystore_password": ctx.attr.java_keystore_password,
        "java_keystore_path": ctx.attr.java_keystore_path,
        "mode": ctx.attr.mode,
        "rpms": [f.path for f in rpms],
    }
    return base_content.run(ctx, "trust-store", config, inputs = certs + debs + rpms)

trust_store = rule(
    implementation = _trust_store_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [BaseImageContentInfo],
    doc = """A CA trust store from certificate files and Debian or RPM packages, each
certificate once (in order of first appearance), laid out where TLS
libraries look: one PEM bundle at `/etc/ssl/certs/ca-certificates.crt` (Go,
OpenSSL's default file on Debian, curl, Python), OpenSSL's hashed directory
`/etc/ssl/certs/<hash>.0` and, with `java_keystore`, a PKCS#12 Java
truststore at `/etc/ssl/certs/java/cacerts`.

Inputs are parsed strictly: a file that holds no certificate, or a
certificate block that does not parse, fails the action, naming the target
and the file; an image that quietly lacks a CA fails much later.

Every target platform.

```starlark
load("@rules_img//img:base_images.bzl", "trust_store")

trust_store(
    name = "trust",
    certs = ["//pki:corporate-root.pem"],
    java_keystore = True,
)
```""",
)
