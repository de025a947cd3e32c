"""OCILayoutSettingsInfo: whether OCI layouts may lack base blobs."""

OCILayoutSettingsInfo = provider(
    doc = "From `@rules_img//img/private/settings:oci_layout`.",
    fields = {
        "allow_shallow_oci_layout": "bool: `shallow_oci_layout` is `i_know_what_i_am_doing`.",
    },
)
