from tests.support.factories import PASSWORD


def test_admin_signs_in_and_sees_home(web, tenant):
    response = web.login(tenant.admin.email, PASSWORD)
    assert response.status_code == 302
    page = web.get("/").get_data(as_text=True)
    assert "Hello, Acme" in page
