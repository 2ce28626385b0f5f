import pytest

from hub.access.roles import FEATURES, NotAllowedError, Role, allowed, authorize

USER_MAY = [
    ("Subscription Plan", "Create"), ("Subscription Plan", "Update"),
    ("Subscription Plan", "Cancel"), ("Subscription Plan", "Publish"),
    ("Subscription Plan Lines", "Create"), ("Subscription Plan Lines", "Disable"),
    ("Subscription Actions", "Edit"), ("Subscription Actions", "Firm"),
    ("Subscription Actions", "Post"), ("Subscription Actions", "Cancel"),
    ("Run HARP Connect", "Run"),
]
USER_MAY_NOT = [
    ("Connectors", "Create"), ("Connectors", "Deactivate"), ("Users", "Update Roles"),
    ("Program Types", "Create"), ("Reason Code", "Delete"), ("Subscription Plan", "Unpublish"),
]


def test_administrator_may_do_everything_everywhere():
    for env in ("production", "sandbox"):
        for feature, ops in FEATURES.items():
            for op in ops:
                authorize(Role.ADMINISTRATOR, feature, op, environment=env)


@pytest.mark.parametrize(("feature", "op"), USER_MAY)
def test_user_does_the_day_to_day_work(feature, op):
    authorize(Role.USER, feature, op)


@pytest.mark.parametrize(("feature", "op"), USER_MAY_NOT)
def test_user_may_not_set_up(feature, op):
    with pytest.raises(NotAllowedError):
        authorize(Role.USER, feature, op, environment="sandbox")


def test_user_cannot_create_connectors_and_is_told_so_plainly():
    with pytest.raises(NotAllowedError) as err:
        authorize(Role.USER, "Connectors", "Create")
    assert str(err.value) == "A User may not create connectors in production; ask an administrator."


def test_test_date_in_production_is_admin_only_in_sandbox_everyone():
    feature = "Run HARP Connect with a test date"
    with pytest.raises(NotAllowedError, match="run HARP Connect with a test date in production"):
        authorize(Role.USER, feature, "Run", environment="production")
    authorize(Role.USER, feature, "Run", environment="sandbox")
    authorize(Role.ADMINISTRATOR, feature, "Run", environment="production")


def test_names_ignore_case():
    assert allowed(Role.USER, "subscription actions", "firm")


@pytest.mark.parametrize(
    ("feature", "op", "env"),
    [("Invoices", "Create", "production"), ("Connectors", "Fly", "production"),
     ("Connectors", "Create", "staging")],
)
def test_unknown_names_are_errors_not_refusals(feature, op, env):
    with pytest.raises(ValueError, match="unknown"):
        allowed(Role.ADMINISTRATOR, feature, op, environment=env)
