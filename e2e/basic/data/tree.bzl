"""A rule that writes a directory output (tree artifact)."""

def _tree_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    ctx.actions.run_shell(
        outputs = [out],
        command = """
mkdir -p {o}/sub/deeper
echo one > {o}/one.txt
echo two > {o}/sub/two.txt
echo one > {o}/sub/deeper/same_as_one.txt
chmod 755 {o}/sub/two.txt
ln -s ../one.txt {o}/sub/link_to_one
""".format(o = out.path),
        mnemonic = "MakeTree",
    )
    return [DefaultInfo(files = depset([out]))]

tree = rule(implementation = _tree_impl)
