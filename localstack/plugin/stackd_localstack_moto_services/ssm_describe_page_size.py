"""Makes ``DescribeParameters`` honour ``MaxResults``, as AWS does.

Works around an emulator quirk of the moto backend LocalStack 4.13.1 serves
SSM from: ``DescribeParameters`` answers 10 parameters a page whatever
``MaxResults`` (1 to 50) asks for, and filters every parameter of the
account again for each page, so a refresh of a stack's parameters (stackd
asks for 50 a page, 50 names a call) takes five sequential calls where AWS
takes one.

Registered as an ``on_infra_start`` hook that replaces the response
handler with one paging by ``MaxResults`` (default 10, as on AWS).
"""

import json

from localstack.runtime import hooks


@hooks.on_infra_start()
def stackd_ssm_describe_page_size() -> None:
    from moto.ssm.responses import SimpleSystemManagerResponse

    if getattr(SimpleSystemManagerResponse.describe_parameters, "_stackd_wrapped", False):
        return

    def describe_parameters(self) -> str:
        page_size = int(self._get_param("MaxResults") or 10)
        token = self._get_param("NextToken")
        start = int(token.strip()) if hasattr(token, "strip") and token.strip() else 0
        result = self.ssm_backend.describe_parameters(
            self._get_param("Filters"), self._get_param("ParameterFilters")
        )
        page = result[start : start + page_size]
        response = {"Parameters": [p.describe_response_object(False) for p in page]}
        if start + page_size < len(result):
            response["NextToken"] = str(start + page_size)
        return json.dumps(response)

    describe_parameters._stackd_wrapped = True
    SimpleSystemManagerResponse.describe_parameters = describe_parameters
