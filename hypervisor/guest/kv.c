int app_main(void); int app_main(void){return 0;}
