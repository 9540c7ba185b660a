process.env.MODELDECK_TEST_ADAPTER = 'anywidget';
