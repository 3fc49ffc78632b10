"""nbgrader for everyone on the hub (students and staff): installed by setup.sh as the kit
environment's own config ({venv}/etc/jupyter/nbgrader_config.py), so nbgrader run from any other
Python on the machine does not see it. setup.sh fills in the two values."""

c = get_config()  # noqa: F821  (nbgrader provides it)

c.CourseDirectory.course_id = "@COURSE_ID@"
c.Exchange.root = "@EXCHANGE@"
# nbgrader's exchange, closed where it is open by default (mnist_course/exchange.py,
# jupyter/nbgrader#978): a submission readable by its owner and the staff only, and collected only
# from the account it names.
c.ExchangeFactory.submit = "mnist_course.exchange.PrivateSubmit"
c.ExchangeFactory.collect = "mnist_course.exchange.OwnerCheckedCollect"
